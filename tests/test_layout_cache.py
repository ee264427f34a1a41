"""Handouts share the book's part cache: unchanged handouts are not laid out again, an edited
post's handout is laid out alone; every build reports, per format, how many parts were laid
out and how many came from the cache (report.json and the summary)."""
import json
import os
import re
import shutil

import pytest

from click.testing import CliRunner

from publisher.cli import main
from publisher.pipeline import BuildOptions, build

from conftest import SAMPLE, pdf_text

FORMATS = ("pdf", "handouts")
ADDED = "这是新加的一段，只在这一篇讲义里。"


def handouts(folder):
    return {path.name: path.read_bytes() for path in sorted((folder / "handouts").glob("*.pdf"))}


def test_handouts_come_from_the_part_cache_and_an_edit_lays_out_only_its_own(tmp_path, monkeypatch):
    # no SOURCE_DATE_EPOCH: the book is dated by its newest source, which editing a post changes
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    from publisher.render import pdf
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    chapters = len(list((series / "episodes").glob("*.md")))
    assembled = []
    original = pdf.assemble
    monkeypatch.setattr(pdf, "assemble", lambda *a: assembled.append(1) or original(*a))

    first = build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "a", offline=True))
    # the book: each episode, the blank page, the folio digits and the front matter
    assert first.layouts == {"pdf": {"laid_out": chapters + 3, "cached": 0},
                             "handouts": {"laid_out": chapters, "cached": 0}}
    assert json.loads((tmp_path / "a" / "report.json").read_text(encoding="utf-8"))["layouts"] == first.layouts

    again = build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "b", offline=True))
    assert again.layouts == {"pdf": {"laid_out": 0, "cached": chapters + 3},
                             "handouts": {"laid_out": 0, "cached": chapters}}
    assert handouts(tmp_path / "b") == handouts(tmp_path / "a")  # the same files, byte for byte
    assert (tmp_path / "b" / "s.pdf").read_bytes() == (tmp_path / "a" / "s.pdf").read_bytes()
    # every part unchanged: the book written last time to the same place is left alone
    written = (tmp_path / "a" / "s.pdf").stat().st_mtime_ns
    build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "a", offline=True))
    assert len(assembled) == 2 and (tmp_path / "a" / "s.pdf").stat().st_mtime_ns == written
    (tmp_path / "a" / "s.pdf").write_bytes(b"changed by hand")
    build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "a", offline=True))
    assert len(assembled) == 3 and (tmp_path / "a" / "s.pdf").read_bytes() == (tmp_path / "b" / "s.pdf").read_bytes()

    edited = sorted((series / "episodes").glob("*.md"))[1]
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace("</div>", f"<p>{ADDED}</p></div>", 1), encoding="utf-8")
    os.utime(edited, (os.path.getmtime(edited) + 60,) * 2)  # later than every other source
    third = build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "c", offline=True))
    assert third.layouts["handouts"] == {"laid_out": 1, "cached": chapters - 1}
    before, after = handouts(tmp_path / "a"), handouts(tmp_path / "c")
    changed = [name for name in after if after[name] != before[name]]
    assert changed == [sorted(after)[1]]
    assert ADDED in "".join(pdf_text(tmp_path / "c" / "handouts" / changed[0])).replace("\n", "")
    # the book lays out the edited episode and the front matter (its page numbers may move)
    assert third.layouts["pdf"]["laid_out"] <= 2
    assert len(assembled) == 4 and ADDED in "".join(pdf_text(tmp_path / "c" / "s.pdf")).replace("\n", "")


def test_editing_a_post_lays_out_only_that_episode_when_no_page_moves(tmp_path, monkeypatch):
    """The front matter names no episode by its content key (which an edit changes), so when the
    edit moves no page number, the 目录 is not laid out again."""
    import pikepdf
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True))
    edited = sorted((series / "episodes").glob("*.md"))[1]
    edited.write_text(edited.read_text(encoding="utf-8").replace("。", "。改", 1), encoding="utf-8")
    report = build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "b", offline=True))
    pages = [len(pikepdf.open(tmp_path / out / "s.pdf").pages) for out in ("a", "b")]
    assert pages[0] == pages[1]
    assert report.layouts["pdf"] == {"laid_out": 1, "cached": len(list((series / "episodes").glob("*.md"))) + 2}
    assert "改" in "".join(pdf_text(tmp_path / "b" / "s.pdf"))
    toc = next(p for p in pdf_text(tmp_path / "b" / "s.pdf")[:5] if "目录" in p)
    assert len(re.findall(r"\d+\s*$", toc, re.M)) >= 3  # and its entries still carry their page numbers
    with pikepdf.open(tmp_path / "b" / "s.pdf") as pdf:  # and link to where the bookmarks go
        index = {page.objgen: n for n, page in enumerate(pdf.pages)}
        linked = {index[a.Dest[0].objgen] for page in pdf.pages[:5] for a in page.get("/Annots", []) if "/Dest" in a}
        with pdf.open_outline() as outline:
            chapters = {index[item.destination[0].objgen] for item in outline.root
                        if item.title not in ("版权信息", "目录")}
    assert chapters and chapters <= linked



@pytest.mark.parametrize("added", [1, 40], ids=["a sentence", "forty paragraphs"])
def test_an_edited_book_copies_its_other_episodes_from_the_book_written_before(tmp_path, monkeypatch, added):
    """Rebuilding the book into the same place after an edit copies each unchanged episode's
    objects from the book written there before (assemble.Segment) rather than writing them
    again; the result is, byte for byte, the book a build into an empty folder writes. An edit
    that adds many objects pushes the next episodes' object numbers on: those are written again."""
    from publisher.render import assemble
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True))
    edited = sorted((series / "episodes").glob("*.md"))[0]
    paragraphs = "".join(f"<p>新加的段落，有<a href='https://example.com/{i}'>一个链接</a>。</p>" for i in range(added))
    edited.write_text(edited.read_text(encoding="utf-8").replace("</div>", paragraphs + "</div>", 1), encoding="utf-8")
    written = []
    original = assemble._write_segment
    monkeypatch.setattr(assemble, "_write_segment", lambda frame, part, *a: written.append(part.name) or original(frame, part, *a))
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True))
    episodes = len(list((series / "episodes").glob("*.md")))
    if added == 1:
        assert len(written) == 1  # the edited episode alone
    else:
        assert len(written) == episodes  # the edit moved every page after it: nothing to copy as it lies
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "fresh", offline=True))
    assert (tmp_path / "a" / "s.pdf").read_bytes() == (tmp_path / "fresh" / "s.pdf").read_bytes()
    assert "新加的段落" in "".join(pdf_text(tmp_path / "a" / "s.pdf"))


def test_the_build_summary_says_how_many_parts_came_from_the_cache(tmp_path):
    build(SAMPLE, BuildOptions(formats=("handouts",), outdir=tmp_path / "a", offline=True))
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-f", "handouts", "-o", str(tmp_path / "b"),
                                       "--offline"], catch_exceptions=False)
    chapters = len(list((SAMPLE / "episodes").glob("*.md")))
    assert result.exit_code == 0
    assert f"handouts 0 part(s), {chapters} from cache" in result.output


HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"


def figure_series(root, lengths=(260, 330, 400, 470)):
    """Episodes with a tall figure after ever more text (`lengths` characters): in some the
    figure no longer fits and leaves a page a third empty, which page makeup (render/makeup.py)
    mends."""
    import io
    import random
    from PIL import Image
    from conftest import write_post, write_series
    rng = random.Random(7)

    def para(n):
        return "".join(rng.choice(HAN) for _ in range(n)) + "。"
    series = write_series(root / "s", title="版面测试", extra='order = "number"', images={"mirror": "mirror"})
    (series / "mirror" / "img.example.test").mkdir(parents=True)
    out = io.BytesIO()
    Image.new("RGB", (1000, 800), (30, 90, 150)).save(out, "PNG")
    (series / "mirror" / "img.example.test" / "tall.png").write_bytes(out.getvalue())
    figure = '<p><img src="https://img.example.test/tall.png" alt="图" width="1000" height="800"></p><p>图一：说明文字</p>'
    for i, n in enumerate(lengths, 1):
        body = f"<p>{para(n)}</p>" + figure + "".join(f"<p>{para(120)}</p>" for _ in range(4))
        write_post(series / "episodes" / f"{i:02d}.md", f"版面测试#{i:03d}_第{i}篇", body)
    return series


def test_press_parts_start_from_the_screen_parts_makeup_and_land_the_same(tmp_path, monkeypatch):
    """The press file's pages are the screen's (same trim, text and image sizes): its parts
    take the screen parts' makeup instead of laying out again to find it, and every block
    lands where it does on screen."""
    import json
    import weasyprint
    series = figure_series(tmp_path)
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True, jobs=1))
    layouts = []
    original = weasyprint.HTML.render
    monkeypatch.setattr(weasyprint.HTML, "render", lambda self, *a, **k: layouts.append(1) or original(self, *a, **k))
    report = build(series, BuildOptions(formats=("print",), outdir=tmp_path / "b", offline=True, jobs=1))
    # each press part laid out once (the front matter is laid out in a child process, not counted here)
    assert len(layouts) == report.layouts["print"]["laid_out"] - 1
    metas = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "pdf").glob("*/*.json")
             if not p.name.endswith(".written.json")]  # the parts' page facts, not the books' records
    episodes = {}
    for meta in metas:
        keys = [k for k in meta["anchors"] if k.startswith("e") and "-" not in k and "." not in k and len(k) == 11]
        if keys and meta["size"][0] < 600:  # an A5 episode part, screen or press
            episodes.setdefault(keys[0], []).append(meta)
    assert len(episodes) == 4 and all(len(pair) == 2 for pair in episodes.values())
    assert any(pair[0]["makeup"] for pair in episodes.values())  # the fixture does need makeup
    for screen, press in episodes.values():
        assert screen["pages"] == press["pages"] and screen["makeup"] == press["makeup"]
        assert screen["anchors"].keys() == press["anchors"].keys()
        for name, place in screen["anchors"].items():
            assert press["anchors"][name] == pytest.approx(place, abs=0.01)


def test_a_figure_is_shrunk_to_fit_as_its_page_is_laid_out_not_in_a_second_layout(tmp_path, monkeypatch):
    """A figure that would leave the rest of a page empty (more than a third of it), and fits
    there at 70% of its height or more, is made just small enough while the page is laid out;
    only moving a figure costs its part another layout."""
    import pdfplumber
    import weasyprint
    series = figure_series(tmp_path, lengths=range(150, 500, 40))
    layouts = []
    original = weasyprint.HTML.render
    monkeypatch.setattr(weasyprint.HTML, "render", lambda self, *a, **k: layouts.append(1) or original(self, *a, **k))
    report = build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True, jobs=1))
    with pdfplumber.open(next((tmp_path / "a").glob("*.pdf"))) as pdf:
        placed = [(im["x1"] - im["x0"], im["bottom"] - im["top"], [c for c in page.chars if c["bottom"] < im["top"]])
                  for page in pdf.pages for im in page.images]
    natural = max(width for width, _, _ in placed) * 800 / 1000  # the image is 1000 x 800, set at the measure
    shrunk = [(height, above) for _, height, above in placed if height < natural - 1]
    assert shrunk, [round(h) for _, h, _ in placed]
    # kept at 70% or more, and set on the page it would have left empty, below that page's text
    assert all(height >= 0.7 * natural and above for height, above in shrunk)
    metas = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "pdf").glob("*/*.json")
             if not p.name.endswith(".written.json")]
    passes = [kind for meta in metas for changes in meta["makeup"] for _, (kind, _) in changes]
    assert "shrink" not in passes  # shrinking took no pass: each part was laid out once, plus one per move
    assert len(layouts) == report.layouts["pdf"]["laid_out"] - 1 + len(passes)  # the front matter: another process




def embedded_fonts(pdf_path):
    """(the name the PDF gives a font, the PostScript name inside the font program it embeds)."""
    import io

    import pikepdf
    from fontTools.ttLib import TTFont
    found = set()
    with pikepdf.open(pdf_path) as pdf:
        for page in pdf.pages:
            for font in page.Resources.get("/Font", {}).values():
                for face in font.get("/DescendantFonts", [font]):
                    descriptor = face.FontDescriptor
                    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                        if key in descriptor:
                            program = TTFont(io.BytesIO(descriptor[key].read_bytes()))
                            found.add((str(descriptor.FontName).split("+")[-1], program["name"].getDebugName(6)))
    return found


def test_fonts_are_the_ones_named_whichever_documents_a_process_laid_out_before(tmp_path):
    """Layout processes keep the font programs they copied out of HarfBuzz (parts.py): parts
    laid out one after another in one process must embed (or hand the book) the fonts they
    name, and handouts must be the very files they are when each is among the first documents
    of a fresh process."""
    import subprocess
    import sys
    build(SAMPLE, BuildOptions(formats=("pdf", "handouts"), outdir=tmp_path / "one", offline=True, jobs=1))
    for path in [tmp_path / "one" / "product-stories.pdf", *(tmp_path / "one" / "handouts").glob("*.pdf")]:
        fonts = embedded_fonts(path)
        assert len(fonts) >= 3  # serif text, sans headings, bold
        for named, program in fonts:
            assert named.replace("-", "").lower() == program.replace("-", "").lower().removesuffix("regular")
    shutil.rmtree(tmp_path / "cache" / "pdf")  # the laid-out parts (the images stay where they are)
    subprocess.run([sys.executable, "-c", "from publisher.cli import main; main()", "build", str(SAMPLE),
                    "-f", "handouts", "-o", str(tmp_path / "three"), "--offline", "--jobs", "3"], check=True)
    assert len(handouts(tmp_path / "one")) == 3
    assert handouts(tmp_path / "three") == handouts(tmp_path / "one")


def test_an_edit_is_laid_out_by_the_early_process_and_the_build_never_imports_weasyprint(tmp_path):
    """A PDF build forks a layout process as it begins (parts.early_pool), which imports
    WeasyPrint while the book is prepared and lays out the one edited episode: the build's own
    process never imports WeasyPrint (half a second of an edit's rebuild), and the book has the
    edit."""
    import subprocess
    import sys
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    command = ("import sys; from publisher.launch import run\n"
               "try:\n    run()\nexcept SystemExit:\n    pass\n"
               "print('weasyprint imported:', 'weasyprint' in sys.modules)")
    args = [sys.executable, "-c", command, "build", str(series), "-f", "pdf", "-o", str(tmp_path / "out"), "--offline", "-j", "2"]
    subprocess.run(args, check=True, capture_output=True)
    edited = sorted((series / "episodes").glob("*.md"))[1]
    edited.write_text(edited.read_text(encoding="utf-8").replace("</div>", f"<p>{ADDED}</p></div>", 1), encoding="utf-8")
    rebuilt = subprocess.run(args, check=True, capture_output=True, text=True)
    assert "pdf 1 part(s)" in rebuilt.stdout and "weasyprint imported: False" in rebuilt.stdout
    assert ADDED in "".join(pdf_text(tmp_path / "out" / "s.pdf"))


def test_a_build_goes_on_when_no_early_layout_process_can_be_started(tmp_path, monkeypatch):
    """Where a process cannot be forked (a limit on processes), the build lays its parts out as
    it did before there was an early process, and the book is the same file."""
    from publisher.render import parts
    build(SAMPLE, BuildOptions(formats=("pdf",), outdir=tmp_path / "a", offline=True))

    def refuse(self):
        raise OSError("Resource temporarily unavailable")
    monkeypatch.setattr(parts._EarlyWorker, "__init__", refuse)
    shutil.rmtree(tmp_path / "cache" / "pdf")
    report = build(SAMPLE, BuildOptions(formats=("pdf",), outdir=tmp_path / "b", offline=True))
    assert report.layouts["pdf"]["laid_out"] > 0
    assert (tmp_path / "b" / "product-stories.pdf").read_bytes() == (tmp_path / "a" / "product-stories.pdf").read_bytes()
