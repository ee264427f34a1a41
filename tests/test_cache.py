"""The cache has one owner and stays honest: episodes keyed by content (inserting or reordering
lays out only what changed), `publisher cache info|prune|clear`, and --strict / warnings that
match what `list` says."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cache import KINDS, Cache, info
from publisher.cli import main
from publisher.errors import Problem
from publisher.pipeline import BuildOptions, build

from conftest import write_post, write_series


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def laid_out(monkeypatch):
    """Names of the PDF parts laid out in this process from now on (jobs=1 keeps them here)."""
    from publisher.render import parts
    names: list[str] = []
    original = parts.render_part
    monkeypatch.setattr(parts, "render_part", lambda job, *a: names.append(job.name) or original(job, *a))
    return names


def series_with(folder, episodes: dict[str, str], image_url: str = "", order: str = "listed"):
    extra = f'order = "{order}"'
    write_series(folder, "缓存测试", extra, images={"allow-hosts": ["127.0.0.1"]})
    for name, title in episodes.items():
        img = f'<p><img src="{image_url}?{name}"></p>' if image_url else ""
        write_post(folder / "episodes" / name, title, f"<h2 id=\"toc-1\">{title}的一节</h2><p>{title}的正文。</p>{img}")
    return folder


def test_inserting_and_reordering_episodes_lays_out_only_what_changed(tmp_path, laid_out):
    folder = series_with(tmp_path / "s", {"010-a.md": "甲篇", "020-b.md": "乙篇", "030-c.md": "丙篇"})
    options = BuildOptions(formats=("pdf",), outdir=tmp_path / "out", jobs=1)
    build(folder, options)
    first = [n for n in laid_out if n.startswith("e")]
    assert len(first) == 3
    laid_out.clear()
    write_post(folder / "episodes" / "000-new.md", "新篇", "<p>插在最前面的一篇。</p>")
    build(folder, options)
    new = [n for n in laid_out if n.startswith("e")]
    assert len(new) == 1 and new[0] not in first  # only the new episode; the others kept their keys
    laid_out.clear()
    (folder / "series.toml").write_text((folder / "series.toml").read_text(encoding="utf-8").replace(
        'episodes = ["episodes/*.md"]', 'episodes = ["episodes/030-c.md", "episodes/010-a.md", "episodes/*.md"]'),
        encoding="utf-8")
    build(folder, options)
    assert [n for n in laid_out if n.startswith("e")] == []  # reordered: nothing laid out again


def test_info_prune_and_clear_keep_what_the_given_series_use(tmp_path, image_server, laid_out):
    url = image_server.url_for("/ok.png")
    keep = series_with(tmp_path / "keep", {"a.md": "留下的", "b.md": "也留下"}, url)
    drop = series_with(tmp_path / "drop", {"c.md": "丢掉的", "d.md": "也丢掉"}, url.replace("ok.png", "ok.jpg"))
    for folder in (keep, drop):  # two workers: parts laid out in other processes are recorded too
        build(folder, BuildOptions(formats=("epub", "pdf"), outdir=tmp_path / f"out-{folder.name}", jobs=2))
    cache = Cache()
    before = {s.kind: s for s in info(cache)}
    shown = invoke("cache", "info").output
    assert str(cache.root) in shown and all(re.search(rf"^\s+{kind}\s+\d+ file", shown, re.M) for kind in KINDS)
    assert all(before[kind].files for kind in ("images", "episodes", "layouts", "fonts"))

    pruned = invoke("cache", "prune", str(keep))
    assert pruned.exit_code == 0 and re.search(r"pruned [1-9]\d* file", pruned.output)
    after = {s.kind: s for s in info(cache)}
    for kind in ("images", "episodes", "layouts"):
        assert 0 < after[kind].files < before[kind].files, kind

    laid_out.clear()
    requests = len(image_server.log)
    report = build(keep, BuildOptions(formats=("epub", "pdf"), outdir=tmp_path / "again", jobs=1))
    assert [n for n in laid_out if n != "front"] == [] and report.fetched == 0 and len(image_server.log) == requests

    laid_out.clear()
    build(drop, BuildOptions(formats=("pdf",), outdir=tmp_path / "drop-again", jobs=1))
    assert len([n for n in laid_out if n.startswith("e")]) == 2  # its layouts were dropped

    cleared = invoke("cache", "clear")
    assert cleared.exit_code == 0 and all(s.files == 0 for s in info(cache))


def test_prune_keeps_a_series_never_built_its_images(tmp_path, image_server):
    """A series never built with this cache still keeps its images (as `images --prune` did)."""
    url = image_server.url_for("/ok.png")
    folder = series_with(tmp_path / "s", {"a.md": "只取图"}, url)
    invoke("images", str(folder), "--prefetch")
    assert invoke("cache", "prune", str(folder)).exit_code == 0
    assert "cached" in invoke("images", str(folder)).output


def test_strict_fails_on_any_warning_naming_file_and_line(tmp_path):
    folder = write_series(tmp_path / "s")
    post = write_post(folder / "episodes" / "bad-date.md", "日期坏了", "<p>正文。</p>", date="Invalid Date")
    report = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "lenient"))
    (warning,) = [w for w in report.warnings if "unreadable" in w.message]
    line = next(n for n, text in enumerate(post.read_text(encoding="utf-8").splitlines(), 1) if text.startswith("date:"))
    assert warning.where == str(post) and warning.line == line
    result = CliRunner().invoke(main, ["build", str(folder), "-f", "epub", "--strict", "-o", str(tmp_path / "strict")])
    assert result.exit_code == 1
    assert f"{post}:{line}: date 'Invalid Date' is missing or unreadable" in result.output
    assert "Traceback" not in result.output


def test_build_reports_what_list_warns_about(tmp_path):
    folder = write_series(tmp_path / "s")
    write_post(folder / "episodes" / "a.md", "栏目#005_甲", "<p>甲。</p>")
    write_post(folder / "episodes" / "b.md", "栏目#005_乙", "<p>乙。</p>")
    write_post(folder / "episodes" / "c.md", "没有编号", "<p>丙。</p>")
    listed = set(re.findall(r"^warning: (.+)$", invoke("list", str(folder)).output, re.M))
    build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out"))
    reported = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["warnings"]
    shown = {str(Problem(**w)) for w in reported}
    assert any("episode number 5 also used by a.md" in w for w in listed)
    assert any("no episode number" in w for w in listed)
    assert listed <= shown


def test_a_failed_image_is_reported_at_the_line_that_names_it(tmp_path, image_server):
    folder = write_series(tmp_path / "s", images={"allow-hosts": ["127.0.0.1"]})
    url = image_server.url_for("/missing.png")
    post = write_post(folder / "episodes" / "a.md", "缺图", f"<p>第一段。</p>\n<p>第二段。</p>\n<p><img src=\"{url}\"></p>")
    report = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out"))
    (warning,) = [w for w in report.warnings if w.category == "image"]
    line = next(n for n, text in enumerate(post.read_text(encoding="utf-8").splitlines(), 1) if url in text)
    assert (warning.where, warning.line) == (str(post), line) and "HTTP 404" in warning.message


def test_fonts_are_kept_as_references_to_the_installed_files(tmp_path):
    """A CJK face is 20-27 MB: the cache names the installed file (while it is unchanged)
    instead of holding a copy; bytes no installed file has are copied."""
    from publisher.cache import _installed_fonts, font_file, keep_font
    installed = next(p for paths in _installed_fonts().values() for p in paths if p.endswith((".ttc", ".otf", ".ttf")))
    folder = tmp_path / "fonts"
    keep_font(folder, "k1", open(installed, "rb").read())
    assert font_file(folder, "k1") == Path(installed) and (folder / "k1.ref").stat().st_size < 1000
    keep_font(folder, "k2", b"\x00\x01\x00\x00 a font no one installed")
    assert font_file(folder, "k2") == folder / "k2" and (folder / "k2").read_bytes().startswith(b"\x00\x01")
    ref = json.loads((folder / "k1.ref").read_text())
    (folder / "k1.ref").write_text(json.dumps({**ref, "mtime_ns": ref["mtime_ns"] + 1}))  # the package was upgraded
    assert font_file(folder, "k1") is None and font_file(folder, "missing") is None


def test_a_series_rebuilt_in_one_process_keeps_its_typeset_bodies_through_prune(tmp_path, monkeypatch):
    """The preview builds again and again in one process: each build records the typeset bodies
    it used (render/pdf.py keeps them in memory too), so pruning for that series keeps them and
    its next build typesets nothing."""
    from publisher.render import pdf
    series = series_with(tmp_path / "s", {"a.md": "第一篇", "b.md": "第二篇"})
    for out in ("one", "two"):  # the second build finds every body in this process's memory
        build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / out, offline=True, jobs=1))
    assert invoke("cache", "prune", str(series)).exit_code == 0
    typeset = []
    monkeypatch.setattr(pdf, "typeset", lambda body: typeset.append(body) or body)
    pdf._typeset_at.cache_clear()  # a new process
    build(series, BuildOptions(formats=("pdf",), outdir=tmp_path / "three", offline=True, jobs=1))
    assert typeset == []
