"""The normalizer: golden cases for each feed shape, the properties both backends rely on,
and fuzzing that any input gives well-formed XHTML."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from publisher.errors import LimitError
from publisher.normalize import normalize
from publisher.sources import SourceEpisode

FIXTURES = Path(__file__).parent / "fixtures" / "normalize"
UNWRAP = ("https://cors.zfour.workers.dev/?",)
HEADIMG = {"figures": "https://cors.zfour.workers.dev/?http://img.test/a.png"}


def episode(body: str, key: str = "e001", headimg: str = "", path: Path = Path("post.md")):
    return normalize(SourceEpisode(path=path, title="t", body=body, headimg=headimg), key, UNWRAP, "zh-CN")


def xhtml(fragment: str):
    """Parse a body fragment as XML: raises if it is not well-formed."""
    return etree.fromstring(f'<body xmlns="http://www.w3.org/1999/xhtml">{fragment}</body>')


@pytest.mark.parametrize("case", sorted(p.stem for p in FIXTURES.glob("*.html")))
def test_golden(case):
    """Input HTML -> expected XHTML, one case per feed shape (expected files reviewed by hand)."""
    e = episode((FIXTURES / f"{case}.html").read_text(encoding="utf-8"), headimg=HEADIMG.get(case, ""))
    assert e.body.replace("><", ">\n<") + "\n" == (FIXTURES / f"{case}.xhtml").read_text(encoding="utf-8")


def test_site_chrome_and_scripting_removed():
    body = episode((FIXTURES / "chrome.html").read_text(encoding="utf-8")).body
    for bad in ("<script", "<style", "<svg", "<button", "support-author", "onclick", "style=", "data-", "赞赏",
                "人打赏", "avatar"):  # the tip jar's count and its tippers' faces too
        assert bad not in body
    assert "正文第一段。" in body


def test_credits_name_the_author_and_stay_as_a_small_line():
    e = episode("<p>正文。</p><p>本文由@加一 原创发布于某站，未经许可，禁止转载</p><p>题图来自Unsplash，基于CC0协议</p>")
    assert e.credited == "加一" and e.author == "加一"
    assert e.body.count('class="credits"') == 2


def test_sections_and_ids_are_unique_across_episodes():
    body = '<h2 id="toc-1">一</h2><h3>甲</h3><h3>乙</h3><h2 id="toc-2">二</h2><h2>三</h2>'
    first, second = episode(body, "e001"), episode(body, "e002")
    assert [s.title for s in first.sections] == ["一", "二", "三"]
    assert [c.title for c in first.sections[0].children] == ["甲", "乙"]
    ids = [s.id for s in first.sections] + [s.id for s in second.sections]
    assert len(ids) == len(set(ids)) and ids[0] == "e001-toc-1" and ids[3] == "e002-toc-1"
    assert all(f'id="{s.id}"' in first.body for s in first.sections)
    assert any("without a toc-N id" in w.message for w in first.warnings)


def test_head_image_shown_once_as_opener():
    url = "https://cors.zfour.workers.dev/?http://img.test/hero.jpg"
    e = episode(f'<blockquote><p>编辑导读：x</p></blockquote><p>前言</p><p><img src="{url}"></p><p>正文</p>', headimg=url)
    assert e.image_urls == ("http://img.test/hero.jpg",)
    assert e.body.index('class="opener"') < e.body.index("前言")


def test_caption_binds_only_right_under_an_image():
    e = episode('<p style="text-align:center">不是图注</p><p><img src="http://img.test/x.png"></p>'
                '<p style="text-align: center">是图注</p><p style="text-align: center">也不是</p>')
    assert "<figcaption>是图注</figcaption>" in e.body
    assert "<p>不是图注</p>" in e.body and "<p>也不是</p>" in e.body


def test_hostile_markup_never_survives():
    hostile = ('<p onmouseover="x()">a<script>alert(1)</script></p><a href="javascript:alert(1)">j</a>'
               '<a href=" JaVaScRiPt:alert(1)">k</a><a href="vbscript:x">v</a><a href="data:text/html,x">d</a>'
               '<iframe src="file:///etc/passwd"></iframe><object data="x"></object><embed src="x">'
               '<form action="http://127.0.0.1/"><input name=q></form><meta http-equiv="refresh" content="0">'
               '<base href="file:///etc/"><link rel="attachment" href="file:///etc/hostname">'
               '<svg><image href="file:///etc/hostname"/></svg><math><mi>x</mi></math>'
               '<p style="background:url(file:///etc/hostname)">styled</p><img src="x.png" onerror="alert(1)">')
    body = episode(hostile).body.lower()
    for bad in ("<script", "onmouseover", "onerror", "javascript:", "vbscript:", "data:text", "<iframe", "<object",
                "<embed", "<form", "<input", "<meta", "<base", "<link", "<svg", "<math", "style=", "file:///etc/passwd\""):
        assert bad not in body
    assert "styled" in body


def test_layout_table_unwrapped_data_table_kept():
    body = episode((FIXTURES / "feeds.html").read_text(encoding="utf-8")).body
    assert body.count("<table>") == 1 and "<th>列一</th>" in body and 'class="t_f"' not in body


def test_nesting_limit_is_a_clear_error():
    with pytest.raises(LimitError, match="nested more than"):
        episode("<div>" * 400 + "深" + "</div>" * 400)


html_pieces = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<br>", "<img src='http://img.test/a.png'>", "<table>", "<tr>", "<td>",
    "</td>", "</table>", "<ul>", "<li>", "</ul>", "<h2 id='toc-1'>", "</h2>", "<h3>", "<strong>", "</strong>",
    "<figure>", "<figcaption>", "</figure>", "<pre>", "<code>", "</pre>", "<blockquote>", "</blockquote>",
    "<a href='#toc-1'>", "</a>", "<script>", "</script>", "&#123;", "&nbsp;", "<font color=red>", "<span>",
    "<p style='text-align:center'>", "<iframe src='https://youtube.com/embed/x'>", "<!-- c -->", "<svg>", "<",
    ">", "&", "文字", "text", " ", "\n", "\u200b", "\x0b", "<h1>", "<dl><dt>", "<dd>", "<th>", "<caption>",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(html_pieces, max_size=60))
def test_fuzz_markup_soup_normalizes_to_wellformed_xhtml(pieces):
    e = episode("".join(pieces))
    root = xhtml(e.body)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    assert all(s.id in ids for s in e.sections)
    assert not any(el.tag.endswith(("script", "iframe", "svg", "font", "span", "div")) for el in root.iter())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_random_text_normalizes_to_wellformed_xhtml(text):
    xhtml(episode(text).body)
