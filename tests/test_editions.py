"""Traditional Chinese editions (`build --edition zh-TW`): the sample series plus an episode
written for these tests, built as it is and as an edition, and read back (EPUB, PDF)."""
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pikepdf
import pytest

from publisher.editions import Converter, convert_body, convert_episode, find_edition
from publisher.errors import ManifestError
from publisher.manifest import load_manifest
from publisher.normalize import normalize
from publisher.pipeline import BuildOptions, build
from publisher.sources import read_source

from conftest import SAMPLE, epubcheck, pdf_text, run_cli, write_post, write_series

NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
BODY = ("<h2 id='toc-1'>一、软件与信息</h2>"
        "<p>新版软件把信息存在网络上，点一下鼠标，打印机就开始打印，内存占用也降了。</p>"
        "<p>产品经理说：“这就是‘协同’的意思。”详见 https://example.org/软件/说明 。</p>"
        "<p>Latin text stays: Slack, Figma, don’t panic. <a href='https://example.org/信息'>信息中心</a></p>"
        "<pre><code>// 软件设置\nload(\"信息\")</code></pre>"
        "<p>墨刀团队发布了新的原型工具。</p>")


def convert(body: str, config: str = "s2twp", keep=()) -> str:
    return convert_body(body, Converter(config, keep))


def test_taiwan_and_hong_kong_phrasing():
    tw, hk = convert(BODY), convert(BODY, "s2hk")
    assert all(t in tw for t in ("軟體", "資訊", "網路", "滑鼠", "印表機", "記憶體"))
    assert all(t in hk for t in ("軟件", "網絡", "鼠標", "打印機"))
    prose = re.sub(r'https://[^\s"<]+', "", re.sub(r"<pre>.*?</pre>", "", tw, flags=re.S))
    assert not re.search(r"软件|信息|网络|鼠标|打印机|内存", prose), prose


def test_quotes_become_corner_brackets_and_apostrophes_stay():
    tw = convert(BODY)
    assert "「這就是『協同』的意思。」" in tw
    assert "don’t panic" in tw and "“" not in tw and "‘" not in tw
    mixed = convert("<p>“OK”，他说。He said “yes” and didn’t ‘care’. 她说“<b>好</b>”。</p>")
    assert mixed == "<p>「OK」，他說。He said “yes” and didn’t ‘care’. 她說「<b>好</b>」。</p>"


def test_code_urls_and_latin_text_untouched():
    tw = convert(BODY)
    assert '<pre><code>// 软件设置\nload("信息")</code></pre>' in tw
    assert "https://example.org/软件/说明" in tw and 'href="https://example.org/信息"' in tw
    assert ">資訊中心</a>" in tw and "Latin text stays: Slack, Figma" in tw


def test_kept_terms_are_left_as_written():
    assert "墨刀团队" not in convert(BODY) and "墨刀" in convert(BODY)
    kept = convert(BODY, keep=("墨刀团队",))
    assert "墨刀团队" in kept and "原型工具" in kept


def test_text_attributes_converted_but_not_addresses():
    tw = convert("<figure><img src='https://example.org/网络.png' alt='网络示意'/></figure>")
    assert 'alt="網路示意"' in tw and 'src="https://example.org/网络.png"' in tw


def test_traditional_and_japanese_episodes_are_not_converted(tmp_path):
    edition = find_edition(load_manifest(SAMPLE), "zh-TW")
    texts = {"hant": ("繁體文章", "<p>這篇文章本來就是繁體中文寫的，軟件一詞保持原樣。裡面的資訊不需要再轉換。</p>"),
             "ja": ("日本語の記事", "<p>このソフトウェアは情報をネットワークに保存します。設定はとても簡単です。</p>")}
    for name, (title, body) in texts.items():
        source = read_source(write_post(tmp_path / f"{name}.md", title, body))
        episode = normalize(source, "e001", (), "zh-CN")
        assert episode.lang == {"hant": "zh-TW", "ja": "ja"}[name]
        assert convert_episode(episode, edition) == episode
    source = read_source(write_post(tmp_path / "hans.md", "简体文章", "<p>这篇文章用简体中文写成，软件一词要转换。</p>",
                                    extra="subtitle: 软件的故事\n"))
    converted = convert_episode(normalize(source, "e001", (), "zh-CN"), edition)
    assert converted.lang == "zh-TW" and "軟體" in converted.body
    assert (converted.title, converted.source.subtitle) == ("簡體文章", "軟體的故事")  # titles.py parses these


def test_editions_table_is_typed_and_errors_carry_lines(tmp_path):
    write_post(tmp_path / "episodes" / "a.md", "一篇", "<p>正文。</p>")
    base = 'title = "产品故事"\nepisodes = ["episodes/*.md"]\n'
    (tmp_path / "series.toml").write_text(base + '[editions.zh-TW]\ntitle = "產品故事（臺灣版）"\nkeep = ["墨刀"]\n'
                                          '[editions.zh-MO]\nopencc = "s2hk"\n', encoding="utf-8")
    m = load_manifest(tmp_path)
    tw, mo = find_edition(m, "zh-TW"), find_edition(m, "zh-MO")
    assert (tw.opencc, tw.title, tw.keep, tw.faces) == ("s2twp", "產品故事（臺灣版）", ("墨刀",), "TC")
    assert (mo.opencc, mo.language, mo.faces) == ("s2hk", "zh-MO", "HK")
    (tmp_path / "series.toml").write_text(base + '[editions.zh-TW]\nopencc = "s2twpp"\nkep = ["墨刀"]\n'
                                          '[editions.zh-HK]\nkeep = "墨刀"\n', encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        load_manifest(tmp_path)
    joined = "\n".join(err.value.problems)
    assert re.search(r"series\.toml:4: editions\.zh-TW\.opencc must be one of .*did you mean 's2twp'", joined)
    assert re.search(r"series\.toml:5: unknown key 'editions\.zh-TW\.kep'; did you mean 'editions\.zh-TW\.keep'", joined)
    assert re.search(r"series\.toml:7: 'editions\.zh-HK\.keep' must be a list", joined)


def test_unknown_edition_is_a_usage_error(tmp_path):
    p = run_cli("build", str(SAMPLE), "--edition", "zh-XX", "-o", str(tmp_path / "out"))
    assert p.returncode == 2 and "zh-XX" in p.stderr and "zh-TW" in p.stderr and "Traceback" not in p.stderr


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """The sample series plus one test episode, built as written and as zh-TW into one folder."""
    root = tmp_path_factory.mktemp("editions")
    series = root / "product-stories"
    shutil.copytree(SAMPLE, series)
    write_post(series / "episodes" / "009-tw.md", "产品故事#009_软件与信息", BODY)
    mp = pytest.MonkeyPatch()
    mp.setenv("PUBLISHER_CACHE", str(root / "cache"))
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = root / "out"
    try:
        build(series, BuildOptions(formats=("epub", "pdf"), outdir=out, offline=True))
        before = {p.name: p.read_bytes() for p in out.glob("*.*") if p.suffix in (".epub", ".pdf")}
        report = build(series, BuildOptions(formats=("epub", "pdf"), outdir=out, offline=True, edition="zh-TW"))
        again = build(series, BuildOptions(formats=("epub",), outdir=root / "again", offline=True, edition="zh-TW"))
        build(series, BuildOptions(formats=("epub", "pdf"), outdir=root / "cn-again", offline=True))
    finally:
        mp.undo()
    return out, before, report, again, series, root / "cache"


def opf(path: Path):
    return ET.fromstring(zipfile.ZipFile(path).read("EPUB/content.opf"))


def test_edition_files_beside_the_series_which_stay_as_they_were(editions):
    out, before, report, *_ = editions
    assert sorted(p.name for p in report.outputs) == ["product-stories-zh-TW.epub", "product-stories-zh-TW.pdf"]
    assert before and {name: (out / name).read_bytes() for name in before} == before


def test_epub_language_identifier_and_text(editions):
    out, _, _, again, *_ = editions
    book = out / "product-stories-zh-TW.epub"
    package = opf(book)
    assert package.find(".//dc:language", NS).text == "zh-TW"
    assert package.find(".//dc:title", NS).text == "產品故事"
    summary = package.find(".//opf:meta[@property='schema:accessibilitySummary']", NS).text
    assert "目錄" in summary and "目录" not in summary
    ident = package.find(".//dc:identifier", NS).text
    assert ident != opf(out / "product-stories.epub").find(".//dc:identifier", NS).text
    assert ident == opf(again.outputs[0]).find(".//dc:identifier", NS).text  # stable across builds
    z = zipfile.ZipFile(book)
    docs = [n for n in z.namelist() if n.endswith(".xhtml")]
    langs = {re.search(r'<html[^>]*xml:lang="([^"]+)"', z.read(n).decode()).group(1) for n in docs}
    assert langs == {"zh-TW"}
    nav = z.read("EPUB/nav.xhtml").decode()
    assert "軟體與資訊</a>" in nav and "一、軟體與資訊" in nav and "目錄" in nav and "产品" not in nav
    chapter = next(z.read(n).decode() for n in docs if "滑鼠" in z.read(n).decode())
    assert "「這就是『協同』的意思。」" in chapter and "// 软件设置" in chapter


def test_epub_edition_passes_epubcheck(editions):
    out, *_ = editions
    result = epubcheck(out / "product-stories-zh-TW.epub")
    assert (result["checker"]["nFatal"], result["checker"]["nError"], result["checker"]["nWarning"]) == (0, 0, 0), \
        [m["message"] for m in result["messages"]][:5]


def test_pdf_language_faces_bookmarks_and_text(editions):
    out, *_ = editions
    path = out / "product-stories-zh-TW.pdf"
    with pikepdf.open(path) as pdf:
        assert str(pdf.Root.Lang) == "zh-TW"
        fonts = {str(f.get("/BaseFont")) for page in pdf.pages for f in page.Resources.get("/Font", {}).values()}
        with pdf.open_outline() as outline:
            top = [item.title for item in outline.root]
    assert any("CJK-TC" in f or "CJKtc" in f for f in fonts), fonts
    assert not any("CJK-SC" in f or "CJKsc" in f for f in fonts), fonts
    assert top[:2] == ["版權資訊", "目錄"] and any(t.endswith("軟體與資訊") for t in top)
    pages = pdf_text(path)
    front = "".join(pages[:4])
    assert "產品故事" in front and "目錄" in front and "軟體與資訊" in front and "版權資訊" in front
    assert "印表機" in "".join(pages) and "协同" not in "".join(pages)


def test_pruning_keeps_both_the_series_and_its_edition(editions):
    """The edition's cache entries are recorded beside the series' own: pruning after an
    edition build keeps what the Simplified book needs (and the edition's)."""
    import json
    from publisher.cache import prune
    from publisher.images.cache import ImageCache
    from publisher.pipeline import cache_uses
    *_, series, root = editions
    records = [json.loads(p.read_text()) for p in (root / "uses").glob("*.json")]
    record = next(r for r in records if "pdf-zh-TW" in r)
    needed = {root / p for fmt in ("epub", "pdf", "pdf-zh-TW") for p in record[fmt]}
    assert {p for p in needed if p.parent.parent.name == "pdf"}  # layouts of both books are recorded
    needed = {p for p in needed if p.exists()}  # (lookups of derived copies name files never made)
    cache = ImageCache(root)
    prune(cache, cache_uses([series], cache))
    assert needed and [p for p in needed if not p.exists()] == []


def test_series_and_edition_share_a_cache_without_colliding(editions):
    """Converted episodes are kept in the cache under keys of their own: the Simplified book
    built again after the edition, from the same cache, has the same bytes as before."""
    out, before, *_, root = editions
    assert {name: (root.parent / "cn-again" / name).read_bytes() for name in before} == before
    stored = [p.read_text(encoding="utf-8") for p in (root / "episodes").rglob("*.json")]
    assert any("軟體與資訊" in text for text in stored) and any("软件与信息" in text for text in stored)
