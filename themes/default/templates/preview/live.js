// Live reload for `publisher serve`: the server sends the versions of its latest build over
// Server-Sent Events (/_events); a page made from an older one reloads, keeping its scroll.
(function () {
  "use strict";
  var made = document.currentScript.dataset;  // the versions this page was made from
  var key = "publisher-preview-scroll:" + location.pathname;
  var y = sessionStorage.getItem(key);
  if (y !== null) {
    sessionStorage.removeItem(key);
    addEventListener("load", function () { scrollTo(0, Number(y)); });
  }
  var events = new EventSource("/_events");
  events.onmessage = function (event) {
    var now = JSON.parse(event.data);
    var stale = String(now.book) !== made.book || (made.pdf !== undefined && String(now.pdf) !== made.pdf);
    if (stale) {
      events.close();
      sessionStorage.setItem(key, String(scrollY));
      location.reload();
    }
  };
})();
