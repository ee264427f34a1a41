"""Broken and hostile input: a clear error or a clean book; nothing leaked, nothing requested,
nothing half-written."""
import os
import re
import signal
import subprocess
import sys
import time
import zipfile

import pikepdf
import pytest

from publisher.images.cache import atomic_write
from publisher.pipeline import BuildOptions, build

from conftest import SAMPLE, pdf_text, run_cli, write_post, write_series


@pytest.mark.parametrize("name, content", [
    ("no-front-matter.md", "<div><p>没有头信息</p></div>\n"),
    ("broken-yaml.md", "\n---\ntitle: '没有闭合\ndate: x\n---\n\n<div></div>\n"),
    ("unterminated.md", "\n---\ntitle: '没有结束'\n\n<div></div>\n"),
    ("binary.md", None),
    ("deep.md", "\n---\ntitle: '深'\n---\n\n" + "<div>" * 300 + "x" + "</div>" * 300),
])
def test_bad_episode_stops_the_build_naming_the_file(tmp_path, name, content):
    folder = write_series(tmp_path / "s")
    write_post(folder / "episodes" / "good.md", "好的", "<p>正文</p>")
    bad = folder / "episodes" / name
    bad.write_bytes(bytes(range(256)) * 40) if content is None else bad.write_text(content, encoding="utf-8")
    result = run_cli("build", str(folder), "-o", str(tmp_path / "out"))
    assert result.returncode == 1 and name in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.epub"))


def test_hostile_episode_builds_clean_and_leaks_nothing(tmp_path, canary):
    port, hits = canary
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-SECRET-4711", encoding="utf-8")
    folder = write_series(tmp_path / "s", "恶意")
    (folder / "local.png").write_bytes((SAMPLE / "mirror/image.example.com/wp-files/2024/03/adoption-chart.png").read_bytes())
    write_post(folder / "episodes" / "hostile.md", "{{ 7*7 }} 恶意内容", f"""
<p>脚本<script>document.title='x'</script><img src="local.png" onerror="alert(1)"></p>
<p><a href="javascript:alert(1)">点我</a> <a href="https://example.com/ok">正常链接</a></p>
<iframe src="file://{secret}"></iframe><object data="file://{secret}"></object><embed src="file://{secret}">
<link rel="attachment" href="file://{secret}"><link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">
<p style="background: url(http://127.0.0.1:{port}/bg.png)">带样式的段落。</p>
<svg><image href="file://{secret}"/></svg><img src="http://127.0.0.1:{port}/img.png"><img src="http://0x7f.1:{port}/b.png">
<p>模板：{{% include '{secret}' %}} {{{{ config }}}}</p>
<form action="http://127.0.0.1:{port}/"><input name="q"></form>
<meta http-equiv="refresh" content="0; url=http://127.0.0.1:{port}/"><base href="file:///etc/">
<p>结束。</p>""")
    report = build(folder, BuildOptions(formats=("epub", "pdf", "print"), outdir=tmp_path / "out"))
    assert hits == []
    epub, pdf, press = report.outputs
    z = zipfile.ZipFile(epub)
    assert not any(b"CANARY-SECRET" in z.read(n) for n in z.namelist())
    chapter = next(n for n in z.namelist() if re.fullmatch(r"EPUB/e[0-9a-f]{10}\.xhtml", n))
    text = z.read(chapter).decode().split("<body>")[1]
    assert re.search(r'<h1 id="e[0-9a-f]{10}">\{\{ 7\*7 \}\} 恶意内容</h1>', text) and "{% include" in text and "{{ config }}" in text
    assert not re.search(r"<(script|iframe|object|embed|form|input|meta|base|link rel=\"attachment)\b", text)
    assert "https://example.com/ok" in text and "javascript:" not in text
    local_reasons = [f.reason for f in report.failed if f.url == "local.png"]
    assert local_reasons and "local file" in local_reasons[0]
    for path in (pdf, press):
        with pikepdf.open(path) as doc:
            assert "/EmbeddedFiles" not in doc.Root.get("/Names", {})
            assert not any(a.get("/Subtype") == "/FileAttachment" for p in doc.pages for a in p.obj.get("/Annots", []))
        assert "CANARY-SECRET" not in "".join(pdf_text(path))
        raw = subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(path), "-"], capture_output=True).stdout
        assert b"CANARY-SECRET" not in raw


def test_lenient_inputs_build_with_warnings(tmp_path):
    folder = write_series(tmp_path / "s")
    (folder / "episodes").mkdir()
    (folder / "episodes" / "gbk.md").write_bytes(
        "\n---\ntitle: '国标'\ndate: Tue, 24 Aug 2021 00:00:00 GMT\n---\n\n<div><p>国标编码正文</p></div>\n".encode("gb18030"))
    (folder / "episodes" / "bad-date.md").write_text("\n---\ntitle: '坏日期'\ndate: Invalid Date\n---\n\n<div><p>日期坏了</p></div>\n",
                                                       encoding="utf-8")
    (folder / "episodes" / "no-title.md").write_text("\ufeff\n---\ndate: 2021-01-01\n---\n\n<div><p>没有标题</p></div>\n", encoding="utf-8")
    report = build(folder, BuildOptions(formats=("epub",), outdir=tmp_path / "out"))
    text = "".join(zipfile.ZipFile(report.outputs[0]).read(n).decode() for n in
                   zipfile.ZipFile(report.outputs[0]).namelist() if n.endswith(".xhtml"))
    assert "国标编码正文" in text and "日期坏了" in text and "没有标题" in text and ">no-title<" in text
    messages = " ".join(w.message for w in report.warnings)
    assert "GB18030" in messages and "unreadable" in messages and "no title" in messages


def test_a_failed_write_leaves_the_previous_file_and_no_debris(tmp_path, monkeypatch):
    target = tmp_path / "book.epub"
    target.write_bytes(b"previous")

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new contents")
    assert target.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["book.epub"]


def test_sigkill_mid_build_keeps_the_previous_book(tmp_path):
    out = tmp_path / "out"
    assert run_cli("build", str(SAMPLE), "-f", "pdf", "-f", "print", "-o", str(out), "--offline").returncode == 0
    before = {p: p.read_bytes() for p in out.glob("*.pdf")}
    exe = os.path.join(os.path.dirname(sys.executable), "publisher")
    proc = subprocess.Popen([exe, "build", str(SAMPLE), "-f", "pdf", "-f", "print", "-o", str(out), "--offline"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {p: p.read_bytes() for p in out.glob("*.pdf")}
    assert before and all(after[p] == data or after[p].startswith(b"%PDF") and after[p].rstrip().endswith(b"%%EOF")
                          for p, data in before.items())
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-") and p.suffix in (".pdf", ".epub")]
