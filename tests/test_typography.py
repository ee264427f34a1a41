"""The printed page measured on its glyphs: flush lines, 汉字–Latin spacing, compressed
punctuation, footnotes, titles, handout measure, images inside the block.

One fixture series (text written for these tests) is built once in the PDF formats; pdfplumber
reads where every glyph landed.
"""
from __future__ import annotations

import collections
import io
import re
import statistics

import pdfplumber
import pikepdf
import pytest
from PIL import Image

from conftest import pdf_text, write_post, write_series
from publisher.render.justify import MARK, spaced_characters
from publisher.render.typeset import typeset
from publisher.titles import parse_title

PLAIN = [
    "清晨的工厂还没有完全醒来，仓库里的灯却已经亮了很久。值班的管理员习惯先绕着货架走一圈，看看昨夜入库的货物是否摆放整齐，"
    "再回到办公室打开电脑，核对系统里的数字和眼前的实物是否一致。这样的核对每天都要重复许多遍，谁也说不清它到底占用了多少时间，"
    "只知道一旦出错，后面所有环节都要跟着返工，损失远比想象中大得多。",
    "后来，公司决定把纸质的台账全部搬进系统里。最初的几个月并不顺利，许多老员工不愿意改变多年的习惯，总觉得写在本子上更踏实，"
    "系统里的按钮太多，看着就让人发怵。项目组只好一次又一次地下到仓库，坐在员工身边，陪着他们把每一个步骤走上好几遍，直到"
    "大家发现新的做法确实省事，才慢慢接受了这套工具，并开始主动提出改进的意见。",
    "回头再看，真正让这件事成功的并不是系统本身，而是那些愿意花时间倾听的人。他们把一线员工的抱怨记下来，逐条分析，能改的马上"
    "改，暂时改不了的也给出明确的答复。信任就是在这样一来一回的沟通中建立起来的，而有了信任，再复杂的变化也能一步一步推进下去，"
    "最终成为每个人日常工作中理所当然的一部分。",
]
MIXED = ("那年秋天，团队在2023年用MacBook Pro写下第一版原型，再把数据导入PostgreSQL数据库，并通过REST接口和ERP系统对接。"
         "测试阶段一共发现了17个问题，其中5个与Excel导出的格式有关，剩下的大多出在Windows和Linux两种环境的差异上。")
SPACED = ("3. 回调的请求需要在终端中输入<code>ls /dev/tty.usb</code>查看设备，再把 Mac 连接到开发板上，确认 API 返回正常"
          "之后才能继续下一步的调试工作，整个过程大约需要十分钟左右，请耐心等待并留意屏幕上出现的提示信息。")
BOLD_START = ("<strong>列表</strong>，英文释义为List。以表格为容器，装载着文字或图表的一种形式，叫列表。列表常见于各类产品的"
              "列表页面，比如商品列表、订单列表和消息列表。")
PAIRED = ("有员工评价说这是“最省心的一次升级”，也有人觉得它“还需要时间磨合”。一位组长说：“以前找一件货要十分钟。”"
          "系统把入库（扫码登记）（自动分配货位）和出库连成一条线，正如主管常说的「流程顺了，人就轻松了」。大家都记住了这句话。")
LINKED = ('想了解更多细节，可以阅读<a href="https://docs.example.org/warehouse/guide">仓库系统的使用指南</a>，'
          '里面写明了每一个按钮的用途；关于行业的整体情况，也可以参考<a href="https://news.example.org/report">这份年度报告</a>。')
# 29 characters after the indent, 31 on the next line, then one more: a lone last character
LONE = ("春风又绿江南岸明月何时照我还两个黄鹂鸣翠柳一行白鹭上青天窗含西岭千秋雪门泊东吴万里船"
        "白日依山尽黄河入海流欲穷千里目更上一层楼")[:61] + "。"
# identifiers with no break opportunity inside (UAX #14 keeps letters, digits and _ together)
CODED = ("在完成安装后，将开发板连接至电脑。在终端中输入：<code>list_serial_ports_verbose</code>，若出现了类似的文字"
         "（后四位数字可能不同）<code>tty_wchusbserial_1440_ready</code>那么恭喜你，驱动程序的安装已经完成。")
WIDE = "https://img.example.test/wide.png"
HEADED = "https://img.example.test/badge.png"
LINKED_IMG = "https://img.example.test/photo.png"


@pytest.fixture(scope="module")
def typeset_build(tmp_path_factory):
    """The fixture series built as a screen PDF, a press PDF and handouts."""
    from publisher.pipeline import BuildOptions, build
    root = tmp_path_factory.mktemp("typo")
    series = write_series(root / "s", title="仓库故事", extra='order = "number"', images={"mirror": "mirror"})
    for name, size, colour in (("wide.png", (2000, 800), (30, 90, 150)), ("badge.png", (1400, 500), (200, 60, 40)),
                               ("photo.png", (1200, 600), (60, 140, 60))):
        out = io.BytesIO()
        Image.new("RGB", size, colour).save(out, "PNG")
        (series / "mirror" / "img.example.test").mkdir(parents=True, exist_ok=True)
        (series / "mirror" / "img.example.test" / name).write_bytes(out.getvalue())
    body = "".join(f"<p>{p}</p>" for p in PLAIN[:2])
    body += f'<p><img src="{WIDE}" alt="宽图" width="2000" height="800"></p>'
    body += f"<p>{PLAIN[2]}</p><p>{LONE}</p><p>{CODED}</p><p>{MIXED}</p><p>{SPACED}</p><p>{BOLD_START}</p><p>{PAIRED}</p><p>{LINKED}</p>"
    body += f'<h3><a href="https://example.org/p">人物介绍</a><a href="https://example.org/d"><img src="{HEADED}" alt="徽章"></a></h3>'
    body += f'<p><a href="https://example.org/p"><img src="{LINKED_IMG}" width="1200" height="600" alt="照片"></a></p>'
    body += "".join(f"<p>{p}</p>" for p in PLAIN)
    write_post(series / "episodes" / "01.md", "仓库故事#001_扫码入库——一次升级的来龙去脉", body)
    write_post(series / "episodes" / "02.md", "仓库故事#002_用PDA盘点", "".join(f"<p>{p}</p>" for p in PLAIN * 3))
    out = root / "out"
    mp = pytest.MonkeyPatch()
    mp.setenv("PUBLISHER_CACHE", str(root / "cache"))
    try:
        build(series, BuildOptions(formats=("pdf", "print", "handouts", "epub"), outdir=out, offline=True))
    finally:
        mp.undo()
    screen = next(p for p in out.glob("*.pdf") if "print" not in p.name)
    press = next(out.glob("*print*.pdf"))
    return {"screen": screen, "press": press, "handouts": sorted((out / "handouts").glob("*.pdf")),
            "epub": next(out.glob("*.epub"))}


class Line:
    def __init__(self, chars):
        self.chars = sorted(chars, key=lambda c: c["x0"])
        self.text = "".join(c["text"] for c in self.chars)
        self.size = collections.Counter(round(c["size"], 1) for c in self.chars).most_common(1)[0][0]
        self.x0, self.x1 = self.chars[0]["x0"], self.chars[-1]["x1"]
        self.top = min(c["top"] for c in self.chars)


def read_pages(path):
    """Per page: its lines (glyphs grouped by baseline, blanks dropped), images, size, URIs."""
    pages = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            groups = collections.defaultdict(list)
            for ch in page.chars:
                if ch["text"].strip():  # by baseline (the text matrix), whatever the face's box
                    groups[round(ch["matrix"][5])].append(ch)
            lines = [Line(g) for _, g in sorted(groups.items(), reverse=True)]
            pages.append({"lines": lines, "chars": page.chars, "images": [(i["x0"], i["x1"]) for i in page.images],
                          "height": float(page.height), "width": float(page.width),
                          "uris": [a.get("uri") for a in page.annots or [] if a.get("uri")]})
    return pages


@pytest.fixture(scope="module")
def screen_pages(typeset_build):
    return read_pages(typeset_build["screen"])


def body_size(pages):
    return collections.Counter(ln.size for p in pages for ln in p["lines"]).most_common(1)[0][0]


def block(pages):
    """(left, right) of the text block on the page holding the 2000 px wide image."""
    for p in pages:
        wide = [i for i in p["images"] if i[1] - i[0] > 300]
        if wide:
            return wide[0]
    raise AssertionError("the wide image is not in the PDF")


def lines_of(pages, paragraphs, size):
    whole = "".join(paragraphs)
    out = []
    for p in pages:
        left = min((ln.x0 for ln in p["lines"] if ln.size == size), default=0)
        for ln in p["lines"]:
            if ln.size == size and len(ln.text) > 6 and ln.text in whole:
                ln.left = left  # the page's text block starts here
                out.append(ln)
    return out


def test_paragraph_lines_fill_the_measure_and_the_block_is_whole_characters(screen_pages):
    em = body_size(screen_pages)
    left, right = block(screen_pages)
    width = right - left
    lines = lines_of(screen_pages, PLAIN, em)
    ends = {p[-12:] for p in PLAIN}
    inside = [ln for ln in lines if not any(ln.text.endswith(e) for e in ends)]
    assert len(inside) >= 15
    short = [(round((ln.left + width - ln.x1) / em, 2), ln.text[-6:]) for ln in inside
             if abs(ln.left + width - ln.x1) > 0.3 * em]
    assert not short, short
    # nor past it: the Chinese-Latin spacing a line carries is drawn as wide as it was laid out
    mixed = lines_of(screen_pages, [MIXED], em)
    over = [(round((ln.x1 - ln.left - width) / em, 3), ln.text[-6:]) for ln in inside + mixed
            if ln.x1 - ln.left - width > 0.03 * em]
    assert len(mixed) >= 2 and not over, over
    full = collections.Counter(len(ln.text) for ln in inside if abs(ln.x0 - ln.left) < 0.5).most_common(1)[0][0]
    assert abs(full * em - width) <= 0.5


def test_no_paragraph_ends_in_a_line_of_one_character(screen_pages):
    """孤字: a paragraph's last line holds two characters at least (here the last two are tied;
    without that, 29 + 31 characters fill two lines and the 61st stands alone)."""
    em = body_size(screen_pages)
    lines = lines_of(screen_pages, [LONE], em)
    assert len(lines) == 2  # the two full lines (lines_of keeps lines of more than six characters)
    last = [ln.text for p in screen_pages for ln in p["lines"] if ln.size == em and ln.text and LONE.endswith(ln.text)]
    assert last and len(last[-1].rstrip("。")) >= 2, last
    # also before half-width marks, which some posts set in Chinese text
    assert "设置为常\u2060量." in typeset("<ul><li>只是设置为常量.</li></ul>")


def test_running_heads_space_han_and_latin_too(screen_pages):
    heads = [sorted((c for c in p["chars"] if c["top"] < 0.08 * p["height"]), key=lambda c: c["x0"])
             for p in screen_pages]
    head = next(h for h in heads if "".join(c["text"] for c in h) == "用PDA盘点")
    em = head[0]["size"]
    gaps = [(b["x0"] - a["x1"]) / em for a, b in zip(head, head[1:])]
    assert 0.2 <= gaps[0] <= 0.3 and 0.2 <= gaps[3] <= 0.3 and max(gaps[1:3]) < 0.05, gaps


def test_han_and_latin_are_set_a_quarter_em_apart_and_han_stay_close(screen_pages):
    em = body_size(screen_pages)
    han = re.compile(r"[\u4e00-\u9fff]")
    latin = re.compile(r"[A-Za-z0-9]")
    hl, hh, wide = [], [], []
    for ln in lines_of(screen_pages, [MIXED], em):
        for a, b in zip(ln.chars, ln.chars[1:]):
            gap = (b["x0"] - a["x1"]) / em
            if (han.match(a["text"]) and latin.match(b["text"])) or (latin.match(a["text"]) and han.match(b["text"])):
                hl.append(gap)
            elif han.match(a["text"]) and han.match(b["text"]):
                hh.append(gap)
            if gap > 0.5:
                wide.append((a["text"], b["text"], round(gap, 2)))
    assert len(hl) >= 10
    assert 0.12 <= statistics.median(hl) <= 0.4
    assert statistics.median(hh) < 0.1
    # every boundary gets its space, and never the Han character beside it instead
    assert min(hl) >= 0.2 and max(hh) <= 0.21, (min(hl), max(hh))
    assert not wide, wide


def test_word_spaces_in_mixed_lines_stay_under_half_an_em(screen_pages):
    """Spaces the author typed (also a monospace one in inline code) do not take a line's slack."""
    em = body_size(screen_pages)
    spaced = re.sub(r"<[^>]+>|\s", "", SPACED)
    wide = [(a["text"], b["text"], round((b["x0"] - a["x1"]) / em, 2))
            for ln in lines_of(screen_pages, [spaced], em) for a, b in zip(ln.chars, ln.chars[1:])
            if b["x0"] - a["x1"] > 0.5 * em]
    assert len(lines_of(screen_pages, [spaced], em)) >= 2
    assert not wide, wide


def test_long_inline_code_breaks_inside_so_the_line_before_stays_tight(screen_pages):
    """A path in inline code longer than what is left of a line is broken inside (not among its
    first or last characters) rather than leaving the line before it spaced out."""
    em = body_size(screen_pages)
    left, right = block(screen_pages)
    coded = re.sub(r"<[^>]+>|\s", "", CODED)
    lines = []  # the paragraph's lines, whatever size most of their glyphs are (code is smaller)
    for p in screen_pages:
        edge = min((ln.x0 for ln in p["lines"] if ln.size == em), default=0)
        for ln in p["lines"]:
            if len(ln.text.replace(" ", "")) > 3 and ln.text.replace(" ", "") in coded:
                ln.left = edge
                lines.append(ln)
    assert len(lines) >= 3
    spaced = re.sub(r"<[^>]+>", "", CODED)
    loose = [(a["text"], b["text"], round((b["x0"] - a["x1"]) / em, 2)) for ln in lines[:-1]
             for a, b in zip(ln.chars, ln.chars[1:])
             if b["x0"] - a["x1"] > 0.3 * em and a["text"] + " " + b["text"] not in spaced]  # not the author's space
    short = [ln.text[-6:] for ln in lines[:-1] if ln.left + (right - left) - ln.x1 > 0.3 * em]
    assert not loose and not short, (loose, short)
    assert "".join(ln.text.replace(" ", "") for ln in lines) == coded  # every line of it, none a scrap


def test_long_inline_code_breaks_after_its_separators_first():
    code = typeset("<p>运行<code>/dev/tty.wchusbserial1440</code>查看</p>").split("<code")[1].split("</code>")[0]
    pieces = code.split(">", 1)[1].split("\u200b")
    assert pieces[:2] == ["/dev/", "tty."]  # a path breaks at its slashes and dots
    assert pieces[-1] == "440" and all(len(p) == 1 for p in pieces[2:-1])  # a long name anywhere but its ends


def test_a_paragraph_opening_in_bold_keeps_its_first_line(screen_pages):
    """A bold word, then a comma that may not start a line: the line is not broken inside the word."""
    opening = [ln.text for p in screen_pages for ln in p["lines"] if ln.text.startswith(("列表", "列"))]
    assert opening and opening[0].startswith("列表，英文释义为"), opening[:2]


def test_adjacent_punctuation_is_compressed(screen_pages):
    em = body_size(screen_pages)
    pairs = []
    for p in screen_pages:
        for ln in p["lines"]:
            for a, b, c in zip(ln.chars, ln.chars[1:], ln.chars[2:]):
                if a["text"] + b["text"] in ("”，", "。”", "）（", "」。"):
                    pairs.append((a["text"] + b["text"], (c["x0"] - a["x0"]) / em))
    assert len(pairs) >= 4
    assert all(advance <= 1.6 for _, advance in pairs), pairs


def test_spacing_changes_no_text(typeset_build):
    """Spacing is spacing: the PDF's text and the EPUB's are the author's characters."""
    text = re.sub(r"\s+", "", "".join(pdf_text(typeset_build["screen"])))
    assert re.sub(r"\s", "", MIXED) in text
    assert "\u200b" not in text and "\u2060" not in text and MARK not in text  # the spacing marks write no text
    import zipfile
    with zipfile.ZipFile(typeset_build["epub"]) as z:
        chapter = next(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml") and "MacBook" in z.read(n).decode())
    assert MIXED in chapter and "halt" not in chapter
    with zipfile.ZipFile(typeset_build["epub"]) as z:
        css = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".css"))
    assert "text-autospace" in css  # readers that can space 汉字 and Latin do it themselves


def test_links_become_numbered_footnotes_in_print_and_stay_clickable_on_screen(typeset_build, screen_pages):
    pages = read_pages(typeset_build["press"])
    em = body_size(pages)
    for label, url in (("仓库系统的使用指南", "https://docs.example.org/warehouse/guide"),
                       ("这份年度报告", "https://news.example.org/report")):
        page = next(p for p in pages if any(label in ln.text for ln in p["lines"]))
        line = next(ln for ln in page["lines"] if label in ln.text)
        end = line.chars[line.text.index(label) + len(label) - 1]
        call = "".join(c["text"] for c in page["chars"] if c["text"].isdigit() and c["size"] < em
                       and 0 <= c["x0"] - end["x1"] < em and line.top - em < c["top"] < line.top + em)
        assert call, line.text
        notes = [ln for ln in page["lines"] if url.split("//")[1][:12] in ln.text]
        assert notes and all(ln.size < em and ln.top > 0.75 * page["height"] for ln in notes)
        assert notes[0].text.startswith(call)
    uris = {u for p in screen_pages for u in p["uris"]}
    assert {"https://docs.example.org/warehouse/guide", "https://news.example.org/report"} <= uris


def test_chapter_titles_without_the_series_name(typeset_build, screen_pages):
    pdf = pikepdf.open(typeset_build["screen"])
    with pdf.open_outline() as outline:
        titles = [item.title for item in outline.root]
    assert "扫码入库——一次升级的来龙去脉" in titles and not any("#" in t or "仓库故事" in t for t in titles)
    opening = next(p for p in screen_pages if any(ln.text == "扫码入库" for ln in p["lines"]))
    texts = [ln.text for ln in opening["lines"]]
    assert sum(1 for t in texts if re.fullmatch(r"第\s*1\s*期", t)) == 1
    assert "一次升级的来龙去脉" in texts  # the subtitle on a line of its own
    heads = [p["lines"][0].text for p in screen_pages if p["lines"]]
    assert "扫码入库一次升级的来龙去脉" in heads  # the running head of the rectos: title and subtitle fit
    assert not any("#001" in h for h in heads)


def test_title_page_is_centred(screen_pages):
    first = screen_pages[0]
    title = max((ln for ln in first["lines"] if "仓库故事" in ln.text), key=lambda ln: ln.size)
    assert abs((title.x0 + title.x1) / 2 - first["width"] / 2) <= 0.03 * first["width"]


def test_handout_lines_hold_at_most_forty_characters(typeset_build):
    handout = next(h for h in typeset_build["handouts"] if "扫码入库" in h.name)
    pages = read_pages(handout)
    em = body_size(pages)
    lines = lines_of(pages, PLAIN, em)
    assert lines and 35 <= max(len(ln.text) for ln in lines) <= 40
    heading = next(ln for p in pages for ln in p["lines"] if ln.text.startswith("人物介绍"))
    assert heading.size > em  # a heading is never smaller than the text it heads


def test_every_image_stays_inside_the_text_block(screen_pages):
    em = body_size(screen_pages)
    left, right = block(screen_pages)
    outside = []
    for n, p in enumerate(screen_pages):
        starts = [ln.x0 for ln in p["lines"] if ln.size == em]
        if not starts:
            continue
        edge = min(starts)
        outside += [(n, im) for im in p["images"] if im[0] < edge - 1 or im[1] > edge + (right - left) + 1]
    assert not outside


def test_justification_spaces_cjk_characters_but_not_latin_letters_nor_compressed_pairs():
    assert spaced_characters("Ab cd") == []
    assert spaced_characters("好”，的") == [0, 3]  # the pair ”， stays as it is
    assert spaced_characters("用iPhone拍") == [0, 7]


def test_latin_runs_beside_han_are_marked_across_inline_elements_never_inside_code():
    out = typeset("<p>在iOS下有<strong>11</strong>年，约95%左右，利用<code>sdcc main.c</code>编译，"
                  "再用 Mac 连接</p>")
    assert f"在{MARK}iOS{MARK}下" in out  # a mark on each side that touches 汉字, no element
    assert f"<strong>{MARK}11{MARK}</strong>" in out
    assert f"约{MARK}95%{MARK}左" in out
    assert '<code class="as-l as-r">sdcc main.c</code>' in out
    assert "用 Mac 连" in out  # the author's own spaces: nothing added


def test_page_markup_compresses_pairs_and_notes_links_but_leaves_code():
    out = typeset('<p>他说“好”，然后走了。<a href="https://x.example/a">链接</a><code>a”，b</code></p>')
    assert '<span class="halt">”</span>，' in out
    assert '？<span class="halt">」</span>' in typeset("<p>「有什么问题？」他问。</p>")  # after ？ the closing mark
    # the call is tied to the link's last character: it never opens a line
    assert '链<span class="link-tie">接<span class="link-note">https://x.example/a</span></span>' in out
    assert "a”，b</code>" in out and "halt" not in out.split("<code")[1]
    # a Latin link before 汉字: the quarter em goes after its footnote call, in the text that follows
    out = typeset('<p>本文从<a href="https://x.example/a">wtfpython</a>节选。</p>')
    assert f'n<span class="link-note">https://x.example/a</span></span></a>{MARK}节选' in out


@pytest.mark.parametrize("raw, series, parts", [
    ("产品故事#003_企业微信——面向企业端的产品的增长之路", "产品故事", (3, "企业微信", "面向企业端的产品的增长之路")),
    ("产品故事#12 钉钉：从考勤到协同", "产品故事", (12, "钉钉", "从考勤到协同")),
    ("产品故事 | 飞书", "产品故事", (None, "飞书", "")),
    ("一篇没有编号的文章", "产品故事", (None, "一篇没有编号的文章", "")),
    ("產品故事#009_釘釘——企業服務", "产品故事", (9, "釘釘", "企業服務")),  # a converted edition's titles
    ("C#3 入门", "产品故事", (None, "C#3 入门", "")),
])
def test_titles_split_into_number_title_and_subtitle(raw, series, parts):
    title = parse_title(raw, series)
    assert (title.number, title.title, title.subtitle) == parts
    assert title.full == raw


def test_titles_follow_a_pattern_and_the_post_overrides():
    title = parse_title("【周刊 第 9 期】消息 · 已读回执", "周刊",
                        pattern=r"第\s*(?P<number>\d+)\s*期】(?P<title>[^·]+?)\s*·\s*(?P<subtitle>.+)")
    assert (title.number, title.title, title.subtitle) == (9, "消息", "已读回执")
    assert parse_title("产品故事#1_通讯录", "产品故事", subtitle="手写的副题", short="通讯").subtitle == "手写的副题"
    assert parse_title("产品故事#1_通讯录", "产品故事", short="通讯").short == "通讯"


def test_running_heads_keep_a_whole_title_or_cut_it_at_a_mark():
    assert parse_title("在 macOS 下搭建 51 单片机开发环境").short == "在 macOS 下搭建 51 单片机开发环境"
    assert parse_title("产品故事#3_企业微信——面向企业端的增长", "产品故事").short == "企业微信\u3000面向企业端的增长"
    long = parse_title("一个很长很长的标题，后面还有一段很长很长很长很长很长很长很长很长的说明文字")
    assert long.short == "一个很长很长的标题"


def test_titles_the_templates_set_get_the_body_treatment():
    from publisher.render.typeset import typeset_inline
    out = str(typeset_inline("用色块造就千军万马之势：《银河破裂者》中的AI系统竟是这样做出来的"))
    assert '<span class="keep">《银河破裂者》</span>' in out  # never broken inside a book title
    assert out.endswith('<span class="keep">出来的</span>')  # nor a last line of one or two characters
    assert f"的{MARK}AI{MARK}系" in out
    assert str(typeset_inline("逻辑！（人人都是产品经理）")).startswith('逻辑！<span class="halt">（</span>')
    assert str(typeset_inline("A & <b>")) == "A &amp; &lt;b&gt;"  # text stays text


def test_emoji_and_symbols_the_cjk_fonts_lack_are_drawn_not_boxed(tmp_path, monkeypatch):
    """Posts use emoji (本文@🌟作者🌟 原创发布): a fallback face draws them; no .notdef box."""
    from publisher.pipeline import BuildOptions, build
    series = write_series(tmp_path / "s", title="符号")
    write_post(series / "episodes" / "01.md", "符号#001_表情", "<p>本文@🌟大星星🌟 原创发布，👍点赞。</p>")
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "out", offline=True))
    with pdfplumber.open(next((tmp_path / "out").glob("*.pdf"))) as pdf:
        chars = [c for page in pdf.pages for c in page.chars if c["text"] in "🌟👍"]
    assert len(chars) == 3 and all("CJK" not in c["fontname"] for c in chars)
    # and each has an outline in that face (a .notdef would be glyph 0, drawn as an empty box)
    font = pikepdf.open(next((tmp_path / "out").glob("*.pdf")))
    names = {str(f.get("/BaseFont")) for page in font.pages for f in page.Resources.Font.values()}
    assert any("Symbola" in n for n in names), names


def test_a_bold_line_used_as_a_heading_is_not_left_at_the_foot_of_a_page(tmp_path, monkeypatch):
    """Posts set headings as a paragraph of bold text (<p><strong>2. 选择排序</strong></p>): like a
    heading, it goes to the next page with the text it introduces rather than end a page."""
    from publisher.pipeline import BuildOptions, build
    line = LONE[:28] + "。"  # one full first line
    series = write_series(tmp_path / "s", title="标题", extra='order = "number"')
    for before in range(12, 28):  # the bold line after ever more lines: in one it falls last on the page
        body = f"<p>{line}</p>" * before + "<p><strong>小标题</strong></p>" + f"<p>{line}</p>" * 3
        write_post(series / "episodes" / f"{before:02d}.md", f"标题#{before:03d}_第{before}篇", body)
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "out", offline=True))
    pages = read_pages(next((tmp_path / "out").glob("*.pdf")))
    em = body_size(pages)
    lasts = [[ln.text for ln in p["lines"] if abs(ln.size - em) < 0.2 and not ln.text.isdigit()][-1] for p in pages
             if any(ln.text == line for ln in p["lines"])]  # each body page's last line above its folio
    assert len(lasts) >= 16
    assert not [t for t in lasts if "小标题" in t], lasts
