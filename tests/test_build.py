"""The whole pipeline on the shipped sample series (built offline from its mirror folder):
EPUB read back and validated, PDF book and handouts read back."""
import re
import zipfile
from xml.etree import ElementTree as ET

import pikepdf

from conftest import SAMPLE, epubcheck, pdf_text

NS = {"x": "http://www.w3.org/1999/xhtml", "opf": "http://www.idpf.org/2007/opf",
      "dc": "http://purl.org/dc/elements/1.1/", "epub": "http://www.idpf.org/2007/ops"}
# The posts are titled "产品故事#001_通讯录——协同办公的第一块积木" …; the book names them by
# their own title (the series name is the book's, the number a label, the subtitle apart).
TITLES = ["通讯录", "消息", "在线文档"]
SUBTITLES = ["协同办公的第一块积木", "已读回执引发的争论", "从“发附件”到“发链接”"]
LONG = [f"{t}——{s}" for t, s in zip(TITLES, SUBTITLES)]  # the EPUB nav and the bookmarks name both


def test_outputs_and_report(sample_build):
    out, report = sample_build
    names = sorted(p.relative_to(out).as_posix() for p in report.outputs)
    assert names[:1] == ["handouts/001-通讯录.pdf"]  # the clean title, not the series name and number
    assert {"product-stories.epub", "product-stories.pdf", "product-stories-print.pdf"} <= set(names)
    assert all(p.is_file() for p in report.outputs) and (out / "report.json").is_file()
    assert report.images_total == 5 and not report.failed
    assert {"parse", "normalize", "images", "epub", "pdf", "print", "handouts"} <= set(report.timings)


def test_epub_passes_epubcheck(sample_build):
    out, _ = sample_build
    result = epubcheck(out / "product-stories.epub")
    assert (result["checker"]["nFatal"], result["checker"]["nError"], result["checker"]["nWarning"]) == (0, 0, 0), \
        [m["message"] for m in result["messages"]][:5]


def test_epub_structure_nav_and_images(sample_build):
    out, _ = sample_build
    z = zipfile.ZipFile(out / "product-stories.epub")
    assert z.namelist()[0] == "mimetype" and z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
    opf = ET.fromstring(z.read("EPUB/content.opf"))
    assert opf.find(".//dc:language", NS).text == "zh-CN"
    assert [c.text for c in opf.findall(".//dc:creator", NS)] == ["示例作者甲", "示例作者乙"]
    nav = ET.fromstring(z.read("EPUB/nav.xhtml"))
    toc = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(f"{{{NS['epub']}}}type") == "toc")
    episodes = toc.findall("x:ol/x:li", NS)
    assert ["".join(li.find("x:a", NS).itertext()) for li in episodes] == LONG
    sections = ["".join(a.itertext()) for a in episodes[0].findall("x:ol/x:li/x:a", NS)]
    assert sections == ["一、为什么先做通讯录", "二、增长来自管理员", "三、小结"]
    for a in toc.iter(f"{{{NS['x']}}}a"):
        doc, _, frag = a.get("href").partition("#")
        text = z.read("EPUB/" + doc).decode()
        assert not frag or f'id="{frag}"' in text
    chapter = z.read("EPUB/" + episodes[0].find("x:a", NS).get("href").partition("#")[0]).decode()
    imgs = re.findall(r'<img src="([^"]+)"', chapter)
    assert len(imgs) == 2 and all(("EPUB/" + src) in z.namelist() for src in imgs)
    assert "support-author" not in chapter and "<svg" not in chapter and "cors.zfour" not in chapter
    assert '<figcaption>示意：某示例企业四年内开通账号的部门数</figcaption>' in chapter
    assert 'class="lede"' in chapter and 'class="credits"' in chapter


def test_pdf_book_structure(sample_build):
    out, _ = sample_build
    path = out / "product-stories.pdf"
    with pikepdf.open(path) as pdf:
        with pdf.open_outline() as outline:
            top = [(item.title, [c.title for c in item.children]) for item in outline.root]
        labels = [str(page.label) for page in pdf.pages]
        fonts = {str(f.get("/BaseFont")) for page in pdf.pages for f in page.Resources.get("/Font", {}).values()}
        tree = pdf.Root.StructTreeRoot  # tagged for assistive technology, one tag tree for the book
        keys = [int(k) for k in list(tree.ParentTree.Nums)[::2]]
        parents = [page.obj.get("/StructParents") for page in pdf.pages]
        assert pdf.Root.MarkInfo.Marked and len(keys) == len(set(keys))
        assert all(int(p) in keys for p in parents if p is not None)
        blank = [i for i, p in enumerate(parents) if p is None]
        assert blank == [3, 7, 11]  # untagged: the page padding the front matter and the two blank versos
    titles = [t for t, _ in top if t not in ("版权信息", "目录")]
    assert titles == LONG
    assert dict(top)[LONG[0]] == ["一、为什么先做通讯录", "二、增长来自管理员", "三、小结"]
    assert labels[:4] == ["i", "ii", "iii", "iv"] and labels[4] == "1"
    assert any("Noto-Serif-CJK-SC" in f for f in fonts) and any("Noto-Sans-CJK-SC" in f for f in fonts)
    pages = pdf_text(path)
    assert "产品故事" in pages[0]
    toc = next(p for p in pages[:4] if "目录" in p)
    for title, subtitle in zip(TITLES, SUBTITLES):
        start = next(i for i, p in enumerate(pages) if subtitle in p.replace("\n", "") and i > 3)
        folio = labels[start]
        assert int(folio) % 2 == 1  # episodes open on rectos
        line = next(l for l in toc.splitlines() if l.startswith(title))
        assert line.rstrip().endswith(folio), (line, folio)


def test_press_pdf_boxes_and_intent(sample_build):
    out, _ = sample_build
    with pikepdf.open(out / "product-stories-print.pdf") as pdf:
        page = pdf.pages[5]
        trim = [float(v) for v in page.TrimBox]
        bleed = [float(v) for v in page.BleedBox]
        intents = [str(i.S) for i in pdf.Root.OutputIntents]
    mm = 72 / 25.4
    assert abs((trim[2] - trim[0]) / mm - 148) < 0.5 and abs((trim[3] - trim[1]) / mm - 210) < 0.5
    assert abs((bleed[2] - bleed[0]) - (trim[2] - trim[0]) - 6 * mm) < 0.5
    assert intents == ["/GTS_PDFX"]


def test_handouts_are_a4_with_header(sample_build):
    out, _ = sample_build
    handouts = sorted((out / "handouts").glob("*.pdf"))
    assert len(handouts) == 3
    for path, title, subtitle in zip(handouts, TITLES, SUBTITLES):
        with pikepdf.open(path) as pdf:
            box = [float(v) for v in pdf.pages[0].MediaBox]
            count = len(pdf.pages)
        assert abs(box[2] - 595.3) < 1 and abs(box[3] - 841.9) < 1
        first = pdf_text(path, 1, 1)[0]
        lines = first.splitlines()
        assert title in lines and subtitle in lines and "产品故事" in first  # title and subtitle apart
        assert f"产品故事#00{TITLES.index(title) + 1}_{title}" in first.replace("\n", "")  # the post's own title, cited
        assert re.search(rf"第\s*1\s*页\s*/\s*共\s*{count}\s*页", first)


def test_epub_is_reproducible(sample_build, tmp_path):
    from publisher.pipeline import BuildOptions, build
    out, _ = sample_build
    # the same formats: an EPUB built beside a PDF carries its page list
    again = build(SAMPLE, BuildOptions(formats=("epub", "pdf", "print", "handouts"), outdir=tmp_path, offline=True))
    assert (tmp_path / "product-stories.epub").read_bytes() == (out / "product-stories.epub").read_bytes()


def test_editing_one_episode_lays_out_only_that_one_and_keeps_the_book_right(tmp_path, monkeypatch):
    """After an episode grows by several pages, only it is laid out again; the episodes after
    it move, still open on rectos, and the 目录, bookmarks and folios follow."""
    import shutil
    from publisher.pipeline import BuildOptions, build
    from publisher.render import parts
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True, jobs=1))
    rendered = []
    original = parts.render_part
    monkeypatch.setattr(parts, "render_part", lambda job, *a: rendered.append(job.name) or original(job, *a))
    first = series / "episodes" / "001-directory.md"
    first.write_text(first.read_text(encoding="utf-8").replace(
        "<h2 id=\"toc-3\">", "<p>" + "新增的段落文字，让这一篇多出几页。" * 400 + "</p><h2 id=\"toc-3\">"), encoding="utf-8")
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "b", offline=True, jobs=1))
    assert len([name for name in rendered if name.startswith("e")]) == 1  # (the front is laid out in a child)
    path = tmp_path / "b" / "s.pdf"
    with pikepdf.open(path) as pdf:
        labels = [str(page.label) for page in pdf.pages]
        with pdf.open_outline() as outline:
            starts = {item.title: labels[pdf.pages.index(pikepdf.Page(item.destination[0]))]
                      for item in outline.root if item.title in LONG}
    texts = pdf_text(path)
    toc = next(t for t in texts[:5] if "目录" in t)
    for title, folio in starts.items():
        assert int(folio) % 2 == 1
        line = next(l for l in toc.splitlines() if l.startswith(TITLES[LONG.index(title)]))
        assert line.rstrip().endswith(" " + folio)
        assert SUBTITLES[LONG.index(title)] in texts[labels.index(folio)].replace("\n", "")
    assert int(starts[LONG[1]]) > 5  # the second episode moved back
    body = [i for i, label in enumerate(labels) if label.isdigit()]
    folio_pages = [i for i in body if texts[i].strip() and labels[i] in texts[i].split()]
    assert len(folio_pages) == len([i for i in body if texts[i].strip()])  # every page with text has its folio


def test_unchanged_sources_build_to_the_same_bytes(tmp_path, monkeypatch):
    """Without SOURCE_DATE_EPOCH the book is dated by its sources' last change, so building
    unchanged sources again (laying every page out again) gives identical files."""
    import os
    import shutil
    from publisher.pipeline import BuildOptions, build
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    first = build(SAMPLE, BuildOptions(formats=("epub", "pdf", "print"), outdir=tmp_path / "a", offline=True))
    for kept in ("pdf", "episodes", "derived"):
        shutil.rmtree(os.path.join(os.environ["PUBLISHER_CACHE"], kept))
    second = build(SAMPLE, BuildOptions(formats=("epub", "pdf", "print"), outdir=tmp_path / "b", offline=True))
    for a, b in zip(first.outputs, second.outputs):
        assert a.read_bytes() == b.read_bytes(), a.name
