"""`publisher serve`: the real command on a free port, asked for every page it has, edited under
a live-reload client, sent path tricks and other methods, stopped with Ctrl-C; and once in
Chromium (slow)."""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from lxml import etree, html
from PIL import Image

from conftest import image_bytes, write_post, write_series

MIRRORED = "http://image.example.com/pics/chart.png"  # served from the series' mirror, no network
REFUSED = "http://127.0.0.1:9/gone.png"  # a private address the image guard refuses: one warning
SECRET = "serve-test-secret-3b0f"


def make_series(folder: Path) -> Path:
    write_series(folder, "预览测试", images={"mirror": "mirror"}, pdf={"trim": "A5"})
    (folder / "mirror" / "image.example.com" / "pics").mkdir(parents=True)
    (folder / "mirror" / "image.example.com" / "pics" / "chart.png").write_bytes(image_bytes("PNG", (640, 400)))
    write_post(folder / "episodes" / "001-first.md", "预览测试#001_第一篇——开头",
               "<p>第一篇的第一段，写得足够长，好让它在页面上占一行以上。</p>"
               f'<p><img src="{MIRRORED}" width="640" height="400"></p><p><img src="{REFUSED}"></p>')
    write_post(folder / "episodes" / "002-second.md", "预览测试#002_第二篇——接着",
               "<h2>小节</h2><p>第二篇的正文在这里。</p>", date="Wed, 25 Aug 2021 00:00:00 GMT")
    (folder.parent / "secret.txt").write_text(SECRET)
    return folder


class Preview:
    """A running `publisher serve`, its console output collected as it comes."""

    def __init__(self, process: subprocess.Popen, url: str, lines: list[str]):
        self.process, self.url, self.lines = process, url, lines
        self.host, self.port = re.match(r"http://([^:/]+):(\d+)/", url).groups()

    def request(self, path: str, method: str = "GET", headers: dict | None = None):
        """(status, headers, body) of one request, sent as written (no normalisation)."""
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=120)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def page(self, path: str):
        status, headers, body = self.request(path)
        assert status == 200, (path, status, body[:300])
        return headers["Content-Type"], body


@contextmanager
def serving(series: Path, cache: Path, *args: str, env: dict | None = None):
    """`publisher serve SERIES --port 0 ARGS`, stopped with SIGINT at the end."""
    command = [sys.executable, "-c", "import sys; from publisher.cli import main; sys.exit(main())",
               "serve", str(series), "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               env=dict(os.environ, PUBLISHER_CACHE=str(cache), PYTHONUNBUFFERED="1", **(env or {})))
    lines: list[str] = []
    started = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if " at http://" in line:
                started.set()
    threading.Thread(target=read, daemon=True).start()
    try:
        assert started.wait(60), "".join(lines)
        url = re.search(r"(http://\S+/)", next(line for line in lines if " at http://" in line)).group(1)
        yield Preview(process, url, lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


class Events:
    """A live-reload client: reads the build versions the server streams (SSE)."""

    def __init__(self, preview: Preview):
        self.conn = http.client.HTTPConnection(preview.host, int(preview.port), timeout=60)
        self.conn.request("GET", "/_events")
        self.response = self.conn.getresponse()
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def until(self, wanted) -> dict:
        while True:
            line = self.response.fp.readline().decode()
            if line.startswith("data: ") and wanted(versions := json.loads(line[6:])):
                return versions

    def close(self):
        self.conn.close()


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    """One preview of a fixed series for the tests that only read."""
    root = tmp_path_factory.mktemp("serve")
    with serving(make_series(root / "series"), root / "cache") as running:
        yield running


def links(body: bytes) -> list[str]:
    return html.fromstring(body).xpath("//a/@href")


def test_home_lists_the_series_and_every_episode(preview):
    kind, body = preview.page("/")
    text = html.fromstring(body).text_content()
    assert kind.startswith("text/html")
    assert "预览测试" in text and "第一篇" in text and "第二篇" in text
    chapters = [href for href in links(body) if href.startswith("/book/")]
    assert len(chapters) == 2 and all(preview.page(href)[0].startswith("application/xhtml+xml") for href in chapters)


def test_a_chapter_is_the_epub_document_with_its_images_from_the_cache(preview):
    _, home = preview.page("/")
    first = next(href for href in links(home) if href.startswith("/book/") and "first" in href)
    kind, body = preview.page(first)
    root = etree.fromstring(body)  # well-formed XHTML, as in the EPUB
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert root.xpath("//x:section[@role='doc-chapter']", namespaces=ns)
    assert "第一篇的第一段" in "".join(root.itertext())
    css = [href for href in root.xpath("//x:link/@href", namespaces=ns) if href.endswith("book.css")]
    assert css == ["style/book.css"]  # the EPUB's own reference, resolved against /book/
    status, _, stylesheet = preview.request("/book/style/book.css")
    assert status == 200 and b".chapter-head" in stylesheet
    sources = root.xpath("//x:section//x:img/@src", namespaces=ns)
    assert len(sources) == 1 and sources[0].startswith("images/")
    status, headers, image = preview.request("/book/" + sources[0])
    assert status == 200 and headers["Content-Type"].startswith("image/")
    assert Image.open(io.BytesIO(image)).size == (640, 400)


def test_warnings_are_on_every_page_the_episodes_own_first(preview):
    _, home = preview.page("/")
    for path in ["/"] + [href for href in links(home) if href.startswith(("/book/", "/pdf/"))]:
        _, body = preview.page(path)
        listed = html.fromstring(body).get_element_by_id("preview-warnings").xpath(".//li/text()")
        assert any("127.0.0.1:9/gone.png" in warning for warning in listed), path
        for name in ("001-first", "002-second"):
            if name in path:
                assert listed[0].startswith(f"episodes/{name}.md"), listed


def test_the_page_view_shows_the_pdfs_own_pages(preview):
    _, home = preview.page("/")
    second = next(href for href in links(home) if href.startswith("/pdf/") and "second" in href)
    _, body = preview.page(second)
    images = html.fromstring(body).xpath("//main//figure[not(contains(@class, 'facing'))]//img/@src")
    assert images
    _, _, pdf = preview.request("/book.pdf")
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-f", images[0].split("/")[-1][:-4], "-l", images[0].split("/")[-1][:-4],
                           "-", "-"], input=pdf, capture_output=True).stdout.decode()
    assert "第二篇" in text  # the first image is the chapter's opening page in the real PDF
    status, headers, png = preview.request(images[0])
    width, height = Image.open(io.BytesIO(png)).size
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert abs(width / height - 148 / 210) < 0.01


TRICKS = ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd",
          "/book/..%2f..%2fseries.toml", "/book/%2e%2e/%2e%2e/secret.txt", "/series.toml", "/episodes/001-first.md",
          "/book/images/../../series.toml", "/pages/..%5c..%5csecret.txt", "/book/", "/pages/", "/_preview/",
          "/book/%ff%fe.xhtml", "/" + str(Path("/etc/passwd")), "/%2fetc%2fpasswd"]


@pytest.mark.parametrize("path", TRICKS)
def test_path_tricks_get_4xx_and_nothing_from_outside(preview, path):
    status, _, body = preview.request(path)
    assert 400 <= status < 500
    assert b"root:" not in body and SECRET.encode() not in body and b"episodes = " not in body


def test_only_get_and_head_and_only_addressed_to_loopback(preview):
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = preview.request("/", method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
    status, headers, body = preview.request("/", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    # a page elsewhere whose host name was rebound to 127.0.0.1 (DNS rebinding) reads nothing
    assert preview.request("/", headers={"Host": f"attacker.example:{preview.port}"})[0] == 421


def listening(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (Linux: /proc/net/tcp and tcp6)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(family, raw))
    return found


def test_listens_on_loopback_only(preview):
    assert listening(int(preview.port)) == {"127.0.0.1"}


def test_an_edit_a_break_and_a_mend_reach_a_live_reload_client(tmp_path):
    series = make_series(tmp_path / "series")
    post = series / "episodes" / "002-second.md"
    original = post.read_text(encoding="utf-8")
    with serving(series, tmp_path / "cache") as running:
        _, home = running.page("/")
        chapter = next(href for href in links(home) if href.startswith("/book/") and "second" in href)
        events = Events(running)
        first = events.until(lambda v: v["book"] >= 1)
        old_page = html.fromstring(running.page(chapter.replace("/book/", "/pdf/")[:-len(".xhtml")])[1]).xpath("//main//img/@src")[0]
        post.write_text(original.replace("</div>", "<p>刚刚加上的一段。</p></div>"), encoding="utf-8")
        edited = events.until(lambda v: v["book"] > first["book"])
        assert "刚刚加上的一段" in running.page(chapter)[1].decode()  # same address after the edit
        events.until(lambda v: v["pdf"] > first["pdf"] and v["pdf"] >= 2)  # the edited PDF is laid out
        assert running.request(old_page)[0] == 200  # a page view still open asks for the PDF before

        post.write_text("\n---\ntitle: [unclosed\n---\n\n<div><p>坏</p></div>\n", encoding="utf-8")
        events.until(lambda v: v["book"] > edited["book"])
        for path in ("/", chapter):  # the error with its file and line on every page
            assert re.search(r"episodes/002-second\.md:\d+: front matter", html.fromstring(running.page(path)[1]).text_content())
        assert "刚刚加上的一段" in running.page(chapter)[1].decode()  # below it, the last good build
        assert running.process.poll() is None

        post.write_text(original, encoding="utf-8")
        events.until(lambda v: v["book"] > edited["book"] + 1)
        page = html.fromstring(running.page(chapter)[1])
        assert not page.xpath("//*[@id='preview-error']") and "第二篇的正文在这里" in page.text_content()
        events.close()


def test_a_broken_manifest_at_start_is_shown_and_mending_it_brings_the_book(tmp_path):
    series = make_series(tmp_path / "series")
    manifest = series / "series.toml"
    good = manifest.read_text(encoding="utf-8")
    manifest.write_text(good.replace('title = "预览测试"', 'title = "预览测试"\ntitel = "typo"'), encoding="utf-8")
    with serving(series, tmp_path / "cache") as running:
        text = html.fromstring(running.page("/")[1]).text_content()
        assert "series.toml:2: unknown key 'titel'; did you mean 'title'?" in text
        events = Events(running)
        broken = events.until(lambda v: v["book"] >= 1)
        manifest.write_text(good, encoding="utf-8")
        events.until(lambda v: v["book"] > broken["book"])
        page = html.fromstring(running.page("/")[1])
        assert not page.xpath("//*[@id='preview-error']") and "第二篇" in page.text_content()
        events.close()


def test_the_series_theme_folder_is_watched(tmp_path):
    series = make_series(tmp_path / "series")
    (series / "series.toml").write_text('theme = "mine"\n' + (series / "series.toml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    css = series / "themes" / "mine" / "css" / "epub.css"
    css.parent.mkdir(parents=True)
    css.write_text("p { color: black; }\n", encoding="utf-8")
    with serving(series, tmp_path / "cache") as running:
        assert running.page("/book/style/book.css")[1] == b"p { color: black; }\n"
        events = Events(running)
        first = events.until(lambda v: v["book"] >= 1)
        css.write_text("p { color: maroon; }\n", encoding="utf-8")
        events.until(lambda v: v["book"] > first["book"])
        assert running.page("/book/style/book.css")[1] == b"p { color: maroon; }\n"
        events.close()


def test_only_changes_that_can_change_the_book_rebuild_it(tmp_path, monkeypatch):
    from publisher.rebuild import Preview
    series = make_series(tmp_path / "series").resolve()
    monkeypatch.setenv("PUBLISHER_CACHE", str(series / ".cache"))  # a cache kept in the series folder
    preview = Preview(series / "series.toml", tmp_path / "out", echo=lambda line: None)
    wanted = [series / "series.toml", series / "episodes" / "001-first.md", series / "themes" / "mine" / "css" / "pdf.css"]
    unwanted = [series / ".cache" / "episodes" / "ab" / "x.json", series / "notes.txt", series / "output" / "book.pdf"]
    for path in wanted + [series / "drafts" / "new.md"]:  # before a manifest is read, any post may matter
        assert preview.relevant(path), path
    assert not any(preview.relevant(path) for path in unwanted)
    preview.build_book()
    assert preview.snapshot.prepared and not any(preview.relevant(path) for path in unwanted)
    assert all(preview.relevant(path) for path in wanted + [series / "episodes" / "003-new.md"])
    assert not preview.relevant(series / "drafts" / "new.md")  # not where the manifest's episodes are


def test_episodes_with_chinese_file_names_have_addresses(tmp_path):
    from urllib.parse import quote

    from publisher.rebuild import Preview
    from publisher.serve import route
    series = make_series(tmp_path / "series")
    write_post(series / "episodes" / "产品故事#003 第三篇.md", "预览测试#003_第三篇", "<p>第三篇的正文。</p>")
    preview = Preview(series / "series.toml", tmp_path / "out", echo=lambda line: None)
    preview.build_book()
    home = route(preview, "/").body.decode()
    href = next(h for h in links(home.encode()) if h.startswith("/book/") and "003" in h)
    assert href == "/book/" + quote("产品故事-003-第三篇") + ".xhtml"  # what a browser sends back
    reply = route(preview, href)
    assert reply.status == 200 and "第三篇的正文" in reply.body.decode()


def test_a_chapter_page_shows_an_error_xml_cannot_hold(tmp_path):
    from dataclasses import replace

    from publisher.rebuild import Preview
    from publisher.render.preview import chapter_page
    preview = Preview(make_series(tmp_path / "series") / "series.toml", tmp_path / "out", echo=lambda line: None)
    preview.build_book()
    s = preview.snapshot
    status = replace(s.status(preview.root), error="episodes/x.md:3: odd byte \x0c in the title")
    page = etree.fromstring(chapter_page(s.prepared.book, s.prepared.book.chapters[0], s.theme, status))
    assert "episodes/x.md:3: odd byte" in "".join(page.itertext())


def test_ctrl_c_stops_cleanly_even_while_the_pdf_is_laid_out(tmp_path):
    with serving(make_series(tmp_path / "series"), tmp_path / "cache") as running:
        assert running.request("/")[0] == 200  # the book is built; the PDF (cold cache) is being laid out
        os.killpg(running.process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        assert running.process.wait(5) == 0
        time.sleep(0.5)
        output = "".join(running.lines)
        assert "Traceback" not in output and "stopping" in output
        assert not alive_in_group(running.process.pid)  # no layout process left behind


def alive_in_group(group: int) -> list[str]:
    """Processes of a process group that are still running (not zombies), from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        state, _, pgrp = rest.split()[:3]
        if int(pgrp) == group and state != "Z":
            alive.append(name.split("(", 1)[1])
    return alive


def test_offline_makes_no_request(tmp_path, canary):
    port, hits = canary
    series = make_series(tmp_path / "series")
    manifest = series / "series.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("[images]", '[images]\nallow-hosts = ["127.0.0.1"]'),
                        encoding="utf-8")
    write_post(series / "episodes" / "003-third.md", "预览测试#003_第三篇", f'<p><img src="http://127.0.0.1:{port}/new.png"></p>')
    with serving(series, tmp_path / "cache", "--offline") as running:
        warnings = html.fromstring(running.page("/")[1]).get_element_by_id("preview-warnings").text_content()
        assert f"127.0.0.1:{port}/new.png (offline (not in the cache))" in warnings
    assert hits == []


def test_an_edition_can_be_previewed(tmp_path):
    with serving(make_series(tmp_path / "series"), tmp_path / "cache", "--edition", "zh-TW") as running:
        text = html.fromstring(running.page("/")[1]).text_content()
        assert "預覽測試" in text and "预览测试" not in text


def test_a_busy_port_is_one_line_and_another_host_is_announced(tmp_path):
    series = make_series(tmp_path / "series")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = subprocess.run([sys.executable, "-c", "import sys; from publisher.cli import main; sys.exit(main())",
                              "serve", str(series), "--port", port], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in run.stderr
    with serving(series, tmp_path / "cache", "--host", "0.0.0.0") as running:
        assert "not loopback" in "".join(running.lines)


def test_open_starts_the_users_browser_on_the_preview(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(sys.argv[2])\" {opened} %s"
    with serving(make_series(tmp_path / "series"), tmp_path / "cache", "--open", env={"BROWSER": browser}) as running:
        deadline = time.time() + 20
        while not opened.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == running.url


@pytest.mark.slow
def test_in_chromium_an_edit_shows_up_by_itself(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    series = make_series(tmp_path / "series")
    post = series / "episodes" / "001-first.md"
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    with serving(series, tmp_path / "cache") as running:
        browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            browser.get(running.url)
            browser.find_element("partial link text", "第一篇").click()
            images = browser.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            assert images == [[True, 640]]
            browser.execute_script("window.beforeTheEdit = true")  # gone once the page has reloaded
            post.write_text(post.read_text(encoding="utf-8").replace("</div>", "<p>浏览器里看到的新段落。</p></div>"),
                            encoding="utf-8")
            deadline = time.time() + 15
            while "浏览器里看到的新段落" not in browser.find_element("tag name", "body").text:
                assert time.time() < deadline, "the edit did not reach the open page"
                time.sleep(0.2)
            assert browser.execute_script("return window.beforeTheEdit === undefined")  # it reloaded by itself
            browser.find_element("partial link text", "PDF").click()
            pages = browser.execute_script("return Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight])")
            assert pages and all(abs(w / h - 148 / 210) < 0.01 for w, h in pages)
        finally:
            browser.quit()
