"""EPUB conformance on every feed shape: EPUBCheck, navigation depth, metadata, cover, images
for e-readers, document size, reproducibility."""
import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from publisher.pipeline import BuildOptions, build

from conftest import FIXTURES_DIR, epubcheck, write_post, write_series


@pytest.fixture
def feeds_series(tmp_path, image_server):
    """One episode per feed shape (the normalizer fixtures), images from the local server."""
    folder = write_series(tmp_path / "feeds", "各种来源", extra='order = "listed"', images={"allow-hosts": ["127.0.0.1"]})
    host = image_server.url_for("/").rstrip("/")
    for i, case in enumerate(sorted(FIXTURES_DIR.glob("*.html")), 1):
        body = case.read_text(encoding="utf-8").replace("http://img.test/", host + "/").replace("//img.test/", host + "/")
        body = re.sub(r"/(a|b|c|d|e|lazy)\.(png|jpg|gif)", "/ok.png", body)
        write_post(folder / "episodes" / f"{i:02d}-{case.stem}.md", f"来源{i}：{case.stem}", body)
    write_post(folder / "episodes" / "09-images.md", "图片#9",
               f'<p>大图</p><p><img src="{host}/big.jpg"></p><p>WebP</p><p><img src="{host}/webp.webp"></p>'
               f'<p>丢失</p><p><img src="{host}/missing.png"></p><p>本文由@某作者 原创发布于测试站</p>')
    return folder


def test_every_feed_shape_passes_epubcheck(feeds_series, tmp_path):
    report = build(feeds_series, BuildOptions(formats=("epub",), outdir=tmp_path / "out"))
    epub = report.outputs[0]
    result = epubcheck(epub)
    messages = [f"{m['ID']} {m['message']}" for m in result["messages"]]
    assert (result["checker"]["nFatal"], result["checker"]["nError"], result["checker"]["nWarning"]) == (0, 0, 0), messages
    z = zipfile.ZipFile(epub)
    opf = z.read("EPUB/content.opf").decode()
    assert '<meta property="dcterms:modified">2023-11-14T22:13:20Z</meta>' in opf
    assert "<dc:creator" in opf and "某作者" in opf
    assert "<dc:subject>测试</dc:subject>" in opf and 'property="belongs-to-collection"' in opf
    for prop in ("schema:accessMode", "schema:accessModeSufficient", "schema:accessibilityFeature",
                 "schema:accessibilityHazard", "schema:accessibilitySummary"):
        assert prop in opf
    assert any(n.endswith(".ncx") for n in z.namelist())
    nav = z.read("EPUB/nav.xhtml").decode()
    assert 'epub:type="landmarks"' in nav
    docs = {n: z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml")}
    body = "".join(docs.values())
    assert not re.search(r"<script|<iframe|\son\w+=|javascript:|\sstyle=", body)
    assert "youtube.com/watch?v=abc123" in body and 'class="image-missing"' in body
    images = [n for n in z.namelist() if n.startswith("EPUB/images/") and "cover" not in n]
    sizes = [Image.open(io.BytesIO(z.read(n))).size for n in images]
    assert sizes and max(max(s) for s in sizes) <= 1600
    assert not any(n.endswith(".webp") for n in z.namelist())
    cover = Image.open(io.BytesIO(z.read(next(n for n in z.namelist() if "cover" in n and n.endswith(".jpg")))))
    assert cover.size[1] >= 2560 and cover.size[1] > cover.size[0]


@pytest.mark.parametrize("depth, nested", [(1, 0), (2, 1), (3, 2)])
def test_toc_depth(tmp_path, depth, nested):
    folder = write_series(tmp_path / "s", epub={"toc-depth": depth})
    write_post(folder / "episodes" / "a.md", "深度", '<h2 id="toc-1">一</h2><h3>甲</h3><p>x</p><h2 id="toc-2">二</h2>')
    out = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "o")).outputs[0]
    nav = zipfile.ZipFile(out).read("EPUB/nav.xhtml").decode()
    toc = nav.split('epub:type="toc"')[1].split("</nav>")[0]
    assert toc.count("<ol") - 1 == nested


def test_huge_episode_is_split_at_its_sections(tmp_path):
    folder = write_series(tmp_path / "s")
    sections = "".join(f'<h2 id="toc-{i}">第{i}节</h2>' + "<p>" + "很长的段落文字。" * 1500 + "</p>" for i in range(1, 9))
    write_post(folder / "episodes" / "huge.md", "超长的一篇", sections)
    out = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "o")).outputs[0]
    z = zipfile.ZipFile(out)
    docs = [n for n in z.namelist() if re.match(r"EPUB/e[0-9a-f]{10}(-\d+)?\.xhtml", n)]
    assert len(docs) > 1 and all(len(z.read(n)) <= 300_000 for n in docs)
    nav = z.read("EPUB/nav.xhtml").decode()
    for href in re.findall(r'href="([^"]+#[^"]+)"', nav):
        doc, frag = href.split("#")
        assert f'id="{frag}"' in z.read("EPUB/" + doc).decode()
    assert epubcheck(out)["checker"]["nError"] == 0


def test_given_cover_is_used(tmp_path):
    folder = write_series(tmp_path / "s", extra='cover = "cover.png"')
    Image.new("RGB", (1000, 1500), (10, 200, 30)).save(folder / "cover.png")
    write_post(folder / "episodes" / "a.md", "封面", "<p>x</p>")
    out = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "o")).outputs[0]
    z = zipfile.ZipFile(out)
    cover = Image.open(io.BytesIO(z.read("EPUB/images/cover.png")))
    assert cover.size == (1000, 1500) and cover.getpixel((5, 5)) == (10, 200, 30)


def test_two_builds_are_byte_identical(feeds_series, tmp_path):
    first = build(feeds_series, BuildOptions(formats=("epub",), outdir=tmp_path / "a")).outputs[0]
    second = build(feeds_series, BuildOptions(formats=("epub",), outdir=tmp_path / "b")).outputs[0]
    assert first.read_bytes() == second.read_bytes()
