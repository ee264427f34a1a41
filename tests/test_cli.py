"""The command line as a person meets it: click's CliRunner for each command, and real
subprocess runs for exit codes and output without a terminal."""
import json
import re
import shutil
import zipfile

import pytest
from click.testing import CliRunner

from publisher.cli import main

from conftest import SAMPLE, run_cli, write_post


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_version_and_usage_errors():
    help_text = invoke("--help").output
    for command in ("build", "new", "list", "handout", "images", "check", "doctor"):
        assert re.search(rf"^\s+{command}\b", help_text, re.M)
        assert "Example:" in invoke(command, "--help").output
    assert re.search(r"\d+\.\d+\.\d+", invoke("--version").output)
    result = run_cli("build", "--no-such-option")
    assert result.returncode == 2 and "No such option" in result.stderr and "Traceback" not in result.stderr


def test_build_errors_are_one_line_exit_1(tmp_path):
    result = run_cli("build", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "series.toml" in result.stderr
    (tmp_path / "series.toml").write_text('title = "t"\nepisodes = ["e/*.md"\n', encoding="utf-8")
    result = run_cli("build", str(tmp_path))
    assert result.returncode == 1 and "series.toml:2: TOML syntax error" in result.stderr


def test_build_output_quiet_plain_and_report(tmp_path):
    quiet = run_cli("build", str(SAMPLE), "-f", "epub", "-o", str(tmp_path / "q"), "--quiet", "--offline")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    loud = run_cli("build", str(SAMPLE), "-f", "epub", "-o", str(tmp_path / "l"), "--offline")
    assert loud.returncode == 0 and "\x1b[" not in loud.stdout + loud.stderr
    assert f"wrote {tmp_path / 'l' / 'product-stories.epub'}" in loud.stdout
    assert "images: 5/5" in loud.stderr
    report = json.loads((tmp_path / "l" / "report.json").read_text())
    assert set(report) >= {"outputs", "images", "warnings", "timings"}


def test_new_and_list(tmp_path):
    posts = tmp_path / "_posts" / "nested"
    write_post(posts / "b.md", "专栏#002_第二篇", '<h2 id="toc-1">二的一节</h2><p>x</p>')
    write_post(posts / "a.md", "专栏#001_第一篇", '<h2 id="toc-1">一的一节</h2><p>x</p>')
    write_post(posts / "other.md", "无关文章", "<p>x</p>")
    (posts / "broken.md").write_text("no front matter", encoding="utf-8")
    result = invoke("new", str(tmp_path / "s"), "--from", str(tmp_path / "_posts"), "--match", "^专栏#")
    assert result.exit_code == 0 and "broken.md" in result.output
    manifest = (tmp_path / "s" / "series.toml").read_text(encoding="utf-8")
    assert 'title = "专栏"' in manifest and "# " in manifest
    assert sorted(p.name for p in (tmp_path / "s" / "episodes").iterdir())[0].startswith("001-")
    listing = invoke("list", str(tmp_path / "s")).output
    assert listing.index("第一篇") < listing.index("第二篇") < listing.index("二的一节")
    assert "无关文章" not in listing


def test_list_warns_about_duplicates_and_missing_ids(tmp_path):
    folder = tmp_path / "s"
    (folder).mkdir()
    (folder / "series.toml").write_text('title = "t"\nepisodes = ["*.md"]\n', encoding="utf-8")
    write_post(folder / "a.md", "栏目#001_甲", "<h2>无编号</h2><p>x</p>")
    write_post(folder / "b.md", "栏目#001_乙", "<p>x</p>")
    listing = invoke("list", str(folder)).output
    assert "without a toc-N id" in listing and "episode number 1 also used by" in listing


def test_check_epub_and_pdf(sample_build, tmp_path):
    out, _ = sample_build
    good = invoke("check", "--no-ace", str(out / "product-stories.epub"))  # Ace: test_ereaders.py (slow)
    assert good.exit_code == 0 and "0 errors" in good.output
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(out / "product-stories.epub") as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            if "nav" not in item.filename:
                zout.writestr(item, zin.read(item.filename))
    bad = run_cli("check", str(broken))
    assert bad.returncode == 1 and re.search(r"(RSC|OPF)-\d+", bad.stdout) and "Traceback" not in bad.stderr
    pdf = invoke("check", str(out / "product-stories-print.pdf"))
    assert pdf.exit_code == 0 and "/GTS_PDFX" in pdf.output and "bleed: 3.0 mm" in pdf.output


def test_doctor_reports_fonts_and_validator():
    result = invoke("doctor")
    assert "Noto Serif CJK SC" in result.output and "EPUBCheck" in result.output and "Java" in result.output
    assert result.exit_code == (0 if "BAD" not in result.output else 1)


def test_images_states_and_prune(tmp_path, image_server, monkeypatch):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "series.toml").write_text('title = "t"\nepisodes = ["*.md"]\n[images]\nallow-hosts = ["127.0.0.1"]\n',
                                        encoding="utf-8")
    write_post(folder / "a.md", "图", f'<p><img src="{image_server.url_for("/ok.png")}"></p>'
                                     f'<p><img src="{image_server.url_for("/missing.png")}"></p><p><img src="file:///etc/passwd"></p>')
    before = invoke("images", str(folder)).output
    assert "not cached" in before and "refused: local file" in before
    after = invoke("images", str(folder), "--prefetch").output
    assert "cached" in after and "failed: HTTP 404" in after
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    write_post(other / "a.md", "无图", "<p>x</p>")
    pruned = invoke("images", str(other), "--prune").output
    assert "pruned 1 cache entry" in pruned


def test_handout_of_a_single_post(tmp_path):
    post = write_post(tmp_path / "post.md", "栏目#007_单篇讲义", "<h2>一</h2><p>正文。</p>")
    result = run_cli("handout", str(post), "-o", str(tmp_path / "one.pdf"))
    assert result.returncode == 0 and (tmp_path / "one.pdf").read_bytes().startswith(b"%PDF")
    import pikepdf
    with pikepdf.open(tmp_path / "one.pdf") as pdf:
        assert abs(float(pdf.pages[0].MediaBox[2]) - 595.3) < 1


def test_the_summary_points_at_the_report_it_wrote(tmp_path):
    """Also when the first output lies in handouts/: report.json is in the output folder."""
    out = tmp_path / "h"
    done = run_cli("build", str(SAMPLE), "-f", "handouts", "-o", str(out), "--offline")
    said = re.search(r"details in (\S+report\.json)", done.stdout)
    assert done.returncode == 0 and said and said.group(1) == str(out / "report.json")
    assert (out / "report.json").is_file()


@pytest.mark.parametrize("args, pdf", [
    (["build", "s"], True),  # epub and pdf by default
    (["build", "s", "-f", "epub"], False),
    (["build", "s", "-f", "epub", "--format=handouts"], True),
    (["build", "s", "-fprint"], True),
    (["build", "s", "-f", "pdf", "-j", "1"], False),  # one process: laid out here, as the pipeline does
    (["build", "--help"], False),
    (["serve", "s"], False),
])
def test_the_command_starts_a_layout_process_early_only_for_a_pdf_build(args, pdf, monkeypatch):
    """`publisher` forks the early layout process before it loads the command (launch.py) only
    when the command line asks for PDFs laid out in more than one process (on two cores)."""
    from publisher.launch import _builds_pdf
    from publisher.render import parts
    monkeypatch.setattr(parts, "default_workers", lambda: 2)
    assert _builds_pdf(args) is pdf
