"""Handouts share the book's part cache: unchanged handouts are not laid out again, an edited
post's handout is laid out alone; every build reports, per format, how many parts were laid
out and how many came from the cache (report.json and the summary)."""
import json
import os
import shutil

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
    series = tmp_path / "s"
    shutil.copytree(SAMPLE, series)
    chapters = len(list((series / "episodes").glob("*.md")))

    first = build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "a", offline=True))
    # the book: each episode, the blank page, the folio digits and the front matter
    assert first.layouts == {"pdf": {"laid_out": chapters + 3, "cached": 0},
                             "handouts": {"laid_out": chapters, "cached": 0}}
    assert json.loads((tmp_path / "a" / "report.json").read_text(encoding="utf-8"))["layouts"] == first.layouts

    again = build(series, BuildOptions(formats=FORMATS, outdir=tmp_path / "b", offline=True))
    assert again.layouts == {"pdf": {"laid_out": 0, "cached": chapters + 3},
                             "handouts": {"laid_out": 0, "cached": chapters}}
    assert handouts(tmp_path / "b") == handouts(tmp_path / "a")  # the same files, byte for byte

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


def test_the_build_summary_says_how_many_parts_came_from_the_cache(tmp_path):
    build(SAMPLE, BuildOptions(formats=("handouts",), outdir=tmp_path / "a", offline=True))
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-f", "handouts", "-o", str(tmp_path / "b"),
                                       "--offline"], catch_exceptions=False)
    chapters = len(list((SAMPLE / "episodes").glob("*.md")))
    assert result.exit_code == 0
    assert f"handouts 0 part(s), {chapters} from cache" in result.output
