"""The EPUB as reading systems and checkers meet it: the package's metadata, honest accessibility
claims, languages, the page list taken from the print edition, DAISY Ace and calibre's road to
Kindle (the last two are `slow`: they start a browser or calibre)."""
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pikepdf
import pytest

from publisher.normalize import normalize
from publisher.normalize.language import detect_language
from publisher.pipeline import BuildOptions, build
from publisher.sources import SourceEpisode

from conftest import image_bytes, pdf_text, run_cli, write_post, write_series

NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def squash(text: str) -> str:
    return re.sub(r"[\s\u200b\u2009\u200a\u00a0]+", "", text)


class Epub:
    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path)
        self.opf = ET.fromstring(self.zip.read("EPUB/content.opf"))

    def xml(self, name: str):
        return ET.fromstring(self.zip.read("EPUB/" + name))

    def metas(self, prop: str, refines: str | None = None) -> list[str]:
        return [(m.text or "").strip() for m in self.opf.iter("{%s}meta" % NS["opf"])
                if m.get("property") == prop and (refines is None or m.get("refines") == refines)]

    def nav(self, kind: str):
        return next((n for n in self.xml("nav.xhtml").iter("{%s}nav" % NS["x"]) if n.get(EPUB_TYPE) == kind), None)


def episode(body: str, title: str = "标题", headimg: str = ""):
    return normalize(SourceEpisode(path=Path("post.md"), title=title, body=body, headimg=headimg), "e001", (), "zh-CN")


# ---------- the normalizer's part ----------

def test_heading_levels_never_skip_one():
    body = episode("<h3>甲</h3><p>x</p><h4>乙</h4><p>y</p><h2>丙</h2><h5>丁</h5>").body
    assert re.findall(r"<(h\d)", body) == ["h2", "h3", "h2", "h3"]


def test_the_lede_is_not_a_quotation():
    body = episode("<blockquote><p>编辑导读：这篇讲增长。</p></blockquote><p>正文</p><blockquote><p>引文</p></blockquote>").body
    assert body.startswith('<div class="lede"><p>编辑导读') and "<blockquote><p>引文</p></blockquote>" in body


def test_images_are_described_from_source_caption_or_title():
    e = episode('<p><img src="http://img.test/hero.png"></p><p>正文</p>'
                '<figure><img src="http://img.test/a.png"><figcaption>图一 增长曲线</figcaption></figure>'
                '<p><img src="http://img.test/b.png" alt="作者写的说明"></p><p><img src="http://img.test/c.png"></p>',
                title="企业微信的增长")
    alts = re.findall(r'alt="([^"]*)"', e.body)
    assert alts == ["题图：企业微信的增长", "图一 增长曲线", "作者写的说明", ""]
    hero = "http://img.test/hero.png"  # the head image, after an editor's note: still the opener
    e = episode(f'<blockquote><p>编辑导读：x</p></blockquote><p>正文</p><p><img src="{hero}"></p>', title="题", headimg=hero)
    assert 'class="opener"' in e.body and 'alt="题图：题"' in e.body


@pytest.mark.parametrize("text, default, expected", [
    ("這是一篇關於動畫電影的報導，導演與聲優陣容將於發表會上公開，廣播劇節目也會復活。", "zh-CN", "zh-TW"),
    ("这是一篇关于动画电影的报道，导演与声优阵容将在发布会上公开，广播剧节目也会复活。", "zh-CN", "zh-CN"),
    ("今日は新しい本を買いました。とても面白いので、みんなにも読んでほしいです。", "zh-CN", "ja"),
    ("This post explains how the build works, step by step, with a few notes on caching.", "zh-CN", "en"),
    ("這是一篇關於動畫電影的報導，導演與聲優陣容將於發表會上公開。", "zh-HK", "zh-HK"),
    ("这是一篇关于动画电影的报道，导演与声优阵容将在发布会上公开。", "zh-TW", "zh-CN"),
    ("短", "zh-CN", "zh-CN"),
])
def test_each_episode_gets_its_own_language(text, default, expected):
    assert detect_language(text, default) == expected


def test_code_does_not_make_a_chinese_post_english():
    code = "<pre><code>" + "function sortNumbers(list) { return list.sort((a, b) => a - b) }\n" * 40 + "</code></pre>"
    assert episode("<p>这段代码把数组从小到大排序，下面逐行解释。</p>" + code).lang == "zh-CN"


# ---------- the package ----------

@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    """Three episodes, sections, a subtitle, rights and a place in the series; EPUB only."""
    folder = write_series(tmp_path_factory.mktemp("small"), "小书", extra='subtitle = "副标题"\norder = "listed"\n'
                          'authors = ["甲作者", "乙作者"]\nrights = "© 2021 作者保留权利"\nseries-position = 3')
    write_post(folder / "episodes" / "01.md", "小书#001_第一篇", "<h2>一节</h2><p>简体正文，讲产品。</p><h3>小节</h3><p>更多。</p>")
    write_post(folder / "episodes" / "02.md", "小书#002_第二篇", "<p>這是繁體中文的文章，說明電影與廣播劇的消息。</p>")
    write_post(folder / "episodes" / "03.md", "小书#003_第三篇", "<p>これは日本語の文章です。本を読みました。</p>")
    mp = pytest.MonkeyPatch()
    mp.setenv("PUBLISHER_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        report = build(folder, BuildOptions(formats=("epub",), outdir=folder / "out"))
    finally:
        mp.undo()
    return Epub(report.outputs[0])


def test_package_names_language_date_subtitle_creators_series_and_rights(small_book):
    e = small_book
    assert e.opf.get(XML_LANG) == "zh-CN"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", e.opf.find(".//dc:date", NS).text)
    titles = {t.get("id"): t.text for t in e.opf.iter("{%s}title" % NS["dc"])}
    assert titles == {"title": "小书", "subtitle": "副标题"} and e.metas("title-type", "#subtitle") == ["subtitle"]
    creators = [c.get("id") for c in e.opf.iter("{%s}creator" % NS["dc"])]
    assert len(creators) == 2 and all(e.metas("role", "#" + c) == ["aut"] and e.metas("file-as", "#" + c) for c in creators)
    series = next(m.get("id") for m in e.opf.iter("{%s}meta" % NS["opf"]) if m.get("property") == "belongs-to-collection")
    assert e.metas("collection-type", "#" + series) == ["series"] and e.metas("group-position", "#" + series) == ["3"]
    assert e.opf.find(".//dc:rights", NS).text == "© 2021 作者保留权利"
    # no print edition in this run: no page list is claimed
    assert e.nav("page-list") is None and e.opf.find(".//dc:source", NS) is None
    assert "pageBreakMarkers" not in e.metas("schema:accessibilityFeature")


def test_navigation_uses_the_vocabulary_and_the_ncx_its_depth(small_book):
    e = small_book
    landmarks = [a.get(EPUB_TYPE) for a in e.nav("landmarks").iter("{%s}a" % NS["x"])]
    assert landmarks == ["cover", "titlepage", "toc", "bodymatter"]
    nav = e.xml("nav.xhtml")
    assert nav.find(".//x:nav/x:h1", NS) is not None and nav.find(".//x:link[@rel='stylesheet']", NS) is not None
    ncx = e.xml("toc.ncx")
    depth = next(m.get("content") for m in ncx.iter("{%s}meta" % NS["ncx"]) if m.get("name") == "dtb:depth")
    assert depth == "2"  # episodes, and the first one's sections
    cover = e.xml("cover.xhtml")
    assert cover.get(XML_LANG) == "zh-CN" and "小书" in cover.find(".//x:img", NS).get("alt")


def test_chapters_carry_their_own_language(small_book):
    langs = [small_book.xml(f"{item.get('href')}").get(XML_LANG) for item in small_book.opf.iter("{%s}item" % NS["opf"])
             if item.get("href", "").startswith("e") and item.get("href").endswith(".xhtml")]
    assert sorted(langs) == ["ja", "zh-CN", "zh-TW"]


def test_accessibility_claims_follow_the_images(tmp_path, image_server):
    host = image_server.url_for("/").rstrip("/")
    folder = write_series(tmp_path / "s", "图书", images={"allow-hosts": ["127.0.0.1"]})
    write_post(folder / "episodes" / "01.md", "图书#001_一", f'<p>文字</p><figure><img src="{host}/ok.png">'
               f'<figcaption>有图注</figcaption></figure><p>再说</p><p><img src="{host}/ok.png?2"></p>')
    e = Epub(build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out")).outputs[0])
    assert e.metas("schema:accessModeSufficient") == ["textual,visual"]  # one image has no text alternative
    assert "共 2 张图片，1 张有文字说明" in e.metas("schema:accessibilitySummary")[0]
    (folder / "episodes" / "01.md").unlink()
    write_post(folder / "episodes" / "01.md", "图书#001_一", f'<p>文字</p><p><img src="{host}/ok.png" alt="蓝色方块"></p>')
    e = Epub(build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out2")).outputs[0])
    assert e.metas("schema:accessModeSufficient") == ["textual", "textual,visual"]


# ---------- the page list from the print edition ----------

def page_list(epub: Epub) -> list[tuple[int, str, str]]:
    """(folio, document, text of what follows the marker) for each page-list entry."""
    out = []
    for a in epub.nav("page-list").iter("{%s}a" % NS["x"]):
        doc, frag = a.get("href").split("#")
        raw = epub.zip.read("EPUB/" + doc).decode()
        at = raw.rindex("<", 0, raw.index(f'id="{frag}"'))
        following = squash(re.sub(r"<[^>]+>", "", raw[at:]))[:6]
        out.append((int(a.text), doc, following))
    return out


def test_a_page_begins_at_the_block_holding_its_top():
    from publisher.render.pagelist import page_breaks, with_markers
    anchors = {"a": (0, 0, 100), "b": (0, 0, 500), "c": (1, 0, 60), "d": (1, 0, 300), "e": (2, 0, 200),
               "f": (1, 0, 40)}  # f: a figure the page makeup moved to the top of page 2
    breaks = page_breaks(["a", "b", "c", "d", "f", "e"], anchors, 4, 7)
    # page 8 starts with the moved figure; 9 begins inside d, which comes before f in reading
    # order, so its marker goes with page 8's (numbers never go back); 10 begins inside e
    assert breaks == ((7, ""), (8, "f"), (9, "f"), (10, "e"))
    assert page_breaks(["a", "b", "c", "d", "e"], anchors, 4, 7) == ((7, ""), (8, "c"), (9, "d"), (10, "e"))
    body = with_markers('<p id="a">一</p><p id="d">二</p><figure id="f"><img src="x" alt=""/></figure>', breaks)
    assert re.findall(r'id="([^"]+)"', body) == ["a", "d", "page-8", "page-9", "f"]


def test_page_list_follows_the_printed_pages(sample_build):
    out, _ = sample_build
    epub = Epub(out / "product-stories.epub")
    entries = page_list(epub)
    pdf = out / "product-stories.pdf"
    with pikepdf.open(pdf) as p:
        front = int(p.Root.PageLabels.Nums[2])  # arabic folios start after the front matter
        pages = len(p.pages)
    texts = [squash(t) for t in pdf_text(pdf)]
    printed = {n - front for n in range(front + 1, pages + 1) if texts[n - 1]}
    assert {folio for folio, _, _ in entries} == printed  # every printed page with text, no other
    for folio, _, following in entries:
        here, before = texts[front + folio - 1], texts[front + folio - 2]
        # the page begins inside the block the marker stands before: it starts here or just before
        assert following in here or following in before, (folio, following)
    assert any(s.get("id") == "print-source" for s in epub.opf.iter("{%s}source" % NS["dc"]))
    assert epub.metas("source-of", "#print-source") == ["pagination"]


def test_chapter_starts_match_the_printed_contents(sample_build):
    out, _ = sample_build
    epub = Epub(out / "product-stories.epub")
    starts = {}
    for folio, doc, _ in page_list(epub):
        raw = epub.zip.read("EPUB/" + doc).decode()
        if raw.index(f'id="page-{folio}"') < raw.index("<h1"):
            starts[doc] = folio
    layout = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "8", str(out / "product-stories.pdf"), "-"],
                            capture_output=True, text=True).stdout
    printed = {squash(m.group(1)): int(m.group(2)) for m in re.finditer(r"^(\S.*?)(?: \.)+ *(\d+)$", layout, re.M)}
    chapters = epub.nav("toc").findall("x:ol/x:li/x:a", NS)
    assert len(chapters) >= 3
    for a in chapters:
        title, doc = squash("".join(a.itertext())), a.get("href").split("#")[0]
        assert printed[title] == starts[doc], (title, printed.get(title), starts.get(doc))


# ---------- the checkers and calibre ----------

@pytest.mark.slow
def test_ace_passes_the_book_and_names_what_it_finds(sample_build, tmp_path):
    out, _ = sample_build
    good = run_cli("check", str(out / "product-stories.epub"))
    assert good.returncode == 0 and re.search(r"DAISY Ace [\d.]+: pass, 0 violation", good.stdout), good.stdout
    broken = tmp_path / "no-lang.epub"
    with zipfile.ZipFile(out / "product-stories.epub") as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith(".opf"):
                data = re.sub(rb' xml:lang="[^"]*"', b"", data, count=1)
            zout.writestr(item, data)
    bad = run_cli("check", str(broken))
    assert bad.returncode == 1 and "Ace serious epub-lang" in bad.stdout, bad.stdout


@pytest.mark.slow
def test_calibre_keeps_image_proportions(tmp_path, httpserver):
    """EPUB -> AZW3 -> PDF through calibre's ebook-convert, the road most Kindle books take:
    every image placed keeps its pixels' proportions (width/height attributes that disagree
    with them, or a page narrower than the image, used to squash it)."""
    if not shutil.which("ebook-convert"):
        pytest.fail("calibre's ebook-convert is missing (make installs calibre)")
    import pdfplumber
    httpserver.expect_request("/wide.png").respond_with_data(image_bytes("PNG", (1800, 600)), content_type="image/png")
    httpserver.expect_request("/tall.png").respond_with_data(image_bytes("PNG", (400, 900)), content_type="image/png")
    host = httpserver.url_for("/").rstrip("/")
    folder = write_series(tmp_path / "s", "转换", images={"allow-hosts": ["127.0.0.1"]})
    write_post(folder / "episodes" / "01.md", "转换#001_一",
               f'<p>宽图</p><p><img src="{host}/wide.png" width="900" height="420"></p>'
               f'<p>高图</p><p><img src="{host}/tall.png" width="400" height="900"></p><p>完</p>')
    epub = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out")).outputs[0]
    env = dict(os.environ, QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox")
    azw3, pdf = tmp_path / "book.azw3", tmp_path / "book.pdf"
    for source, target, extra in ((epub, azw3, []), (azw3, pdf, ["--paper-size", "a5"])):
        run = subprocess.run(["ebook-convert", str(source), str(target), *extra], capture_output=True, text=True,
                             env=env, timeout=600)
        assert run.returncode == 0 and "ERROR" not in run.stdout, run.stdout[-500:]
    from PIL import Image
    with zipfile.ZipFile(epub) as z:  # the e-reader copies (the wide one is scaled to [epub] max-image)
        sizes = {Image.open(z.open(n)).size for n in z.namelist() if n.startswith("EPUB/images/") and "cover" not in n}
    with pdfplumber.open(pdf) as doc:
        placed = [(im["x1"] - im["x0"], im["bottom"] - im["top"], *im["srcsize"])
                  for page in doc.pages[1:] for im in page.images]
    body = [(w, h, sw, sh) for w, h, sw, sh in placed if (sw, sh) in sizes]
    assert len(sizes) == 2 and len(body) == 2, (sizes, placed)
    assert all(abs((w / h) / (sw / sh) - 1) < 0.05 for w, h, sw, sh in body), body


def test_series_position_must_be_positive(tmp_path):
    from publisher.errors import ManifestError
    from publisher.manifest import load_manifest
    folder = write_series(tmp_path / "s", "小书", extra="series-position = 0")
    write_post(folder / "episodes" / "01.md", "小书#001_一", "<p>x</p>")
    with pytest.raises(ManifestError, match=r"series.toml:\d+: series-position must be a positive number"):
        load_manifest(folder)
