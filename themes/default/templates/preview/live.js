// Live reload for `publisher serve`: the server sends the versions of its latest build over
// Server-Sent Events (/_events); a page made from an older one reloads, keeping its scroll.
// Only a visible tab keeps a stream open: a browser allows six HTTP/1.1 connections per host
// (MDN, "Using server-sent events"), and a tab coming back checks the versions when it reconnects.
(function () {
  "use strict";
  var made = document.currentScript.dataset;  // the versions this page was made from
  var key = "publisher-preview-scroll:" + location.pathname;
  var y = sessionStorage.getItem(key);
  if (y !== null) {
    sessionStorage.removeItem(key);
    addEventListener("load", function () { scrollTo(0, Number(y)); });
  }
  var events = null;
  function connect() {
    if (events) return;
    events = new EventSource("/_events");
    events.onmessage = function (event) {
      var now = JSON.parse(event.data);
      if (String(now.book) !== made.book || (made.pdf !== undefined && String(now.pdf) !== made.pdf)) {
        disconnect();
        sessionStorage.setItem(key, String(scrollY));
        location.reload();
      }
    };
  }
  function disconnect() {
    if (events) { events.close(); events = null; }
  }
  document.addEventListener("visibilitychange", function () { document.hidden ? disconnect() : connect(); });
  if (!document.hidden) connect();
})();
