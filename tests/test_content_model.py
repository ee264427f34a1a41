"""Whatever nesting a feed sends, the normalizer's output obeys XHTML's content models: random
trees of blocks, inline markup, embeds and images always give a chapter EPUBCheck would pass,
with every word of the input kept.

The content model is checked here in Python for speed (hypothesis tries hundreds of trees); the
rules are HTML's (WHATWG HTML §3.2.5.2 kinds of content, §4.4 grouping content) for the
elements the sanitizer allows. EPUBCheck itself reads the golden nesting cases
(fixtures/normalize/nest-*.html), which test_epub.py builds into a book with every feed shape.
"""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from publisher.normalize import normalize
from publisher.sources import SourceEpisode

PHRASING = {"a", "strong", "em", "code", "kbd", "samp", "var", "sub", "sup", "u", "s", "del", "ins", "mark",
            "small", "abbr", "q", "ruby", "rt", "rp", "br", "img", "span"}
FLOW_CONTAINERS = {"body", "div", "li", "dd", "td", "th", "blockquote", "figure", "figcaption"}
PHRASING_ONLY = {"p", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "caption"} | PHRASING
ONLY = {"ul": {"li"}, "ol": {"li"}, "dl": {"dt", "dd"}, "tr": {"td", "th"},
        "table": {"caption", "colgroup", "thead", "tbody", "tfoot", "tr"}, "thead": {"tr"}, "tbody": {"tr"},
        "tfoot": {"tr"}, "colgroup": {"col"}}
TEXTLESS = set(ONLY)
VOID = {"br", "img", "hr", "col"}


def violations(body) -> list[str]:
    """Where `body` breaks the content models, as 'parent > child' strings."""
    found = []
    for el in body.iter():
        tag = el.tag
        kids = [child.tag for child in el]
        if tag in ONLY:
            found += [f"{tag} > {k}" for k in kids if k not in ONLY[tag]]
        elif tag in PHRASING_ONLY:
            found += [f"{tag} > {k}" for k in kids if k not in PHRASING]
        elif tag not in FLOW_CONTAINERS and tag not in VOID:
            found.append(f"unknown {tag}")
        if tag in TEXTLESS and any((t or "").strip() for t in [el.text] + [c.tail for c in el]):
            found.append(f"text directly in {tag}")
        if tag == "a" and next(el.iterancestors("a"), None) is not None:
            found.append("a inside a")
        if tag == "figure" and [k for k in kids if k == "figcaption"] and kids[0] != "figcaption" \
                and kids[-1] != "figcaption":
            found.append("figcaption in the middle of a figure")
        if tag == "img" and el.get("alt") is None:
            found.append("img without alt")
    ids = [el.get("id") for el in body.iter() if el.get("id")]
    found += [f"duplicate id {i}" for i in set(ids) if ids.count(i) > 1]
    return found


def chapter(html: str):
    e = normalize(SourceEpisode(path=Path("post.md"), title="t", body=html), "e001", (), "zh-CN")
    return e, etree.fromstring(f"<body>{e.body}</body>")


CONTAINERS = ["p", "div", "a href='https://example.com/x'", "ul", "ol", "li", "strong", "em", "blockquote",
              "figure", "figcaption", "h2", "h3", "span", "table", "tr", "td", "section", "pre", "code", "dl", "dd"]
LEAVES = ["<iframe src='https://player.example.com/embed/1'></iframe>", "<img src='http://img.test/a.png'>",
          "<br>", "<hr>", "<video src='https://v.example.com/a.mp4'></video>"]


def trees():
    words = st.sampled_from(["甲", "乙丙", "丁戊己", "庚", "辛壬"])
    leaf = st.one_of(words, st.sampled_from(LEAVES))

    def wrap(children):
        return st.tuples(st.sampled_from(CONTAINERS), st.lists(children, min_size=1, max_size=4)).map(
            lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0].split()[0]}>")
    return st.lists(st.recursive(leaf, wrap, max_leaves=14), min_size=1, max_size=5).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_random_nesting_gives_a_valid_chapter_with_all_its_text(html):
    e, body = chapter(html)
    assert violations(body) == []
    source_words = [w for w in ("甲", "乙丙", "丁戊己", "庚", "辛壬") if w in html]
    text = "".join(body.itertext())
    assert all(w in text for w in source_words)


@pytest.mark.parametrize("html, kept", [
    ('<p>看<iframe src="https://player.example.com/embed/x"></iframe>完</p>', ["看", "完", "embed/x"]),
    ('<a href="https://example.com/"><p>链接段</p></a>', ["链接段"]),
    ('<ul><p>列表里的段</p><li>项</li></ul>', ["列表里的段", "项"]),
    ('<p><figure><img src="http://img.test/f.png"><figcaption>图注</figcaption></figure></p>', ["图注"]),
    ('<p>前<div>块</div>后</p>', ["前", "块", "后"]),
])
def test_each_feed_shape_is_repaired(html, kept):
    e, body = chapter(html)
    assert violations(body) == []
    assert all(k in "".join(body.itertext()) for k in kept)


def test_a_link_around_paragraphs_stays_a_link_on_each():
    e, body = chapter('<a href="https://example.com/a"><p>一段</p><p>二段</p></a>')
    links = body.findall(".//p/a")
    assert [a.text for a in links] == ["一段", "二段"]
    assert all(a.get("href") == "https://example.com/a" for a in links)


def test_an_embed_mid_paragraph_becomes_a_block_link_between_its_halves():
    e, body = chapter('<p>之前<iframe src="https://player.example.com/embed/x"></iframe>之后</p>')
    assert [("".join(p.itertext()), p.get("class")) for p in body] == [
        ("之前", None), ("嵌入内容：https://player.example.com/embed/x", "embed"), ("之后", None)]


def test_inline_code_a_feed_exported_as_paragraphs_rejoins_its_sentence():
    e, body = chapter("<p>是不是很神奇？</p><p>为什么加上</p><p><code>!</code></p><p>返回就是</p><p><code>False</code></p>"
                      "<p>，不加则返回</p><p><code>True</code></p><p>？</p>"
                      "<p>运行：</p><p><code>npm i</code></p><p>Run the</p><p><code>ls</code></p><p>command.</p>")
    assert violations(body) == []
    assert ["".join(p.itertext()) for p in body.iter("p")] == [
        "是不是很神奇？", "为什么加上!返回就是False，不加则返回True？",  # one sentence again
        "运行：", "npm i",  # a command after a colon stands on its own
        "Run the ls command."]  # Latin words keep their spaces
