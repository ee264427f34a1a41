#!/usr/bin/env python3
"""Benchmark: an N-episode series shaped like the real posts, built stage by stage.

    .venv/bin/python benchmarks/run.py [--episodes 100] [--images 5] [--all-formats] [--write FILE]

Writes a synthetic series (front matter, editor's note, h2/h3 sections, paragraphs, lists,
captions, credits and the tip-jar widget; images through the CORS proxy) into a temporary
folder, serves its images from a local HTTP server (through `http_proxy`), and times builds
with a fresh cache: cold EPUB (fetching every image), warm EPUB, cold and warm PDF, the PDF
after editing one episode (with --all-formats also EPUB, PDF,
press PDF and handouts in one build: with a fresh layout cache, unchanged, one episode edited).
Each build runs as its own process; its peak memory is the largest
resident set of it and its workers. Per-stage times come from each build's report.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
PUBLISHER = str(Path(sys.executable).parent / "publisher")
HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
NUMBERS = "一二三四五六七八九十"


def text(rng: random.Random, sentences: int) -> str:
    return "".join("".join(rng.choice(HANZI) for _ in range(rng.randint(12, 36))) + "。" for _ in range(sentences))


def episode(rng: random.Random, n: int, images: int, sections: int) -> str:
    def img(i: int) -> str:
        ext = rng.choice([".jpg", ".jpg", ".png", ".gif"])
        return f"https://cors.zfour.workers.dev/?http://bench.example.test/{n:03d}/{i}{ext}"
    hero = img(0).rsplit(".", 1)[0] + ".jpg"
    body = [f"<blockquote><p>编辑导读：{text(rng, 2)}</p></blockquote>",
            f'<p><img class="aligncenter" src="{hero}" alt width="900" height="420" referrerpolicy="no-referrer"></p>',
            f"<p>{text(rng, 4)}</p>"]
    for s in range(1, sections + 1):
        body.append(f'<h2 id="toc-{s}">{NUMBERS[(s - 1) % 10]}、{text(rng, 1)[:10]}</h2>')
        for h in range(1, rng.randint(2, 3)):
            body.append(f"<h3>{h}. {text(rng, 1)[:8]}</h3>")
            body += [f"<p>{text(rng, rng.randint(3, 7))}</p>" for _ in range(rng.randint(2, 4))]
        if s < images:
            body.append(f'<p><img src="{img(s)}" alt width="900" height="420"></p>')
            body.append(f'<p style="text-align: center;">图{s}：{text(rng, 1)[:12]}</p>')
        body.append("<ul>" + "".join(f"<li>{text(rng, 1)}</li>" for _ in range(3)) + "</ul>")
    body.append("<p>本文由@基准作者 原创发布于基准站点，未经许可，禁止转载</p>")
    body.append('<div class="support-author"><button><svg viewBox="0 0 1 1"><path d="M0"/></svg>赞赏</button></div>')
    day = 1 + n % 28
    return (f"\n---\ntitle: '产品故事#{n:03d}_{text(rng, 1)[:6]}——{text(rng, 1)[:8]}'\ncategories:\n - 基准\n"
            f"headimg: '{hero}'\nauthor: 基准\ndate: Mon, {day:02d} Mar 2021 00:00:00 GMT\n---\n\n<div>"
            + "\n".join(body) + "\n</div>\n")


class Images(BaseHTTPRequestHandler):
    """Any path: a 900 x 420 image in the format its extension names (a forward proxy too)."""

    def do_GET(self):
        fmt = {"png": "PNG", "gif": "GIF"}.get(self.path.rsplit(".", 1)[-1], "JPEG")
        seed = sum(self.path.encode())
        im = Image.new("RGB", (900, 420), (seed % 200, seed * 7 % 200, seed * 13 % 200))
        ImageDraw.Draw(im).rectangle([200, 100, 700, 320], outline=(255, 255, 255), width=6)
        out = io.BytesIO()
        (im.convert("P") if fmt == "GIF" else im).save(out, fmt)
        self.send_response(200)
        self.send_header("Content-Type", f"image/{fmt.lower()}")
        self.send_header("Content-Length", str(out.tell()))
        self.end_headers()
        self.wfile.write(out.getvalue())

    def log_message(self, *args):
        pass


def timed_build(series: Path, out: Path, env: dict, *formats: str) -> dict:
    args = [PUBLISHER, "build", str(series), "-o", str(out), "--quiet"] + [a for f in formats for a in ("-f", f)]
    start = time.perf_counter()
    process = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        raise SystemExit(f"build failed: {' '.join(args)}")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    # wait4's usage covers the build and the workers it waited for (ru_maxrss: the largest of them)
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "stages": report["timings"],
            "layouts": report.get("layouts", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--sections", type=int, default=5)
    parser.add_argument("--write", type=Path, help="write the results table into this Markdown file")
    parser.add_argument("--all-formats", action="store_true",
                        help="also build EPUB, PDF, press PDF and handouts together: cold, unchanged, one edit")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = random.Random(1)
        (tmp / "s" / "episodes").mkdir(parents=True)
        for n in range(1, args.episodes + 1):
            (tmp / "s" / "episodes" / f"{n:03d}.md").write_text(episode(rng, n, args.images, args.sections), encoding="utf-8")
        (tmp / "s" / "series.toml").write_text('title = "产品故事"\nepisodes = ["episodes/*.md"]\n', encoding="utf-8")
        proxy = f"http://127.0.0.1:{server.server_address[1]}"
        env = dict(os.environ, http_proxy=proxy, no_proxy="", PUBLISHER_CACHE=str(tmp / "cache"),
                   SOURCE_DATE_EPOCH="1700000000")
        runs = {}
        runs["EPUB, cold (fetching every image)"] = timed_build(tmp / "s", tmp / "o1", env, "epub")
        runs["EPUB, warm"] = timed_build(tmp / "s", tmp / "o2", env, "epub")
        runs["PDF, images cached, pages laid out"] = timed_build(tmp / "s", tmp / "o3", env, "pdf")
        # into the same folder, as a user rebuilds (a book left unchanged is not written again)
        runs["PDF, warm (nothing changed)"] = timed_build(tmp / "s", tmp / "o3", env, "pdf")
        edited = tmp / "s" / "episodes" / f"{args.episodes // 2:03d}.md"
        edited.write_text(edited.read_text(encoding="utf-8").replace("</div>", "<p>新增一段。</p></div>"), encoding="utf-8")
        runs["PDF, one episode edited"] = timed_build(tmp / "s", tmp / "o3", env, "pdf")
        if args.all_formats:  # a layout cache of its own, the images already in it (as perf.py does)
            env_all = dict(env, PUBLISHER_CACHE=str(tmp / "cache-all"))
            subprocess.run([PUBLISHER, "images", str(tmp / "s"), "--prefetch"], env=env_all, check=True,
                           capture_output=True)
            four = ("epub", "pdf", "print", "handouts")
            runs["all four formats, images cached"] = timed_build(tmp / "s", tmp / "o6", env_all, *four)
            runs["all four formats, nothing changed"] = timed_build(tmp / "s", tmp / "o6", env_all, *four)
            edited.write_text(edited.read_text(encoding="utf-8").replace("</div>", "<p>又一段。</p></div>"), encoding="utf-8")
            runs["all four formats, one episode edited"] = timed_build(tmp / "s", tmp / "o6", env_all, *four)
        pages = subprocess.run(["pdfinfo", str(tmp / "o3" / "s.pdf")], capture_output=True, text=True).stdout
    server.shutdown()
    page_count = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?")
    table = render_table(runs, args, page_count)
    print(table)
    if args.write:
        args.write.write_text(table, encoding="utf-8")


def render_table(runs: dict, args, pages: str) -> str:
    stages = ["parse", "normalize", "images", "epub", "pdf", "print", "handouts"]
    stages = [s for s in stages if any(s in run["stages"] for run in runs.values())]
    lines = [f"# Benchmarks\n",
             f"`benchmarks/run.py --episodes {args.episodes}`: {args.episodes} synthetic episodes, "
             f"{args.episodes * args.images} images (900 x 420, served on 127.0.0.1), {pages} A5 pages; "
             f"{os.cpu_count()} cores. Wall time of the whole command, peak resident memory of its largest "
             "process, and the stages from report.json (seconds).\n",
             "| build | wall s | peak MB | " + " | ".join(stages) + " | parts laid out / from cache |",
             "|---|---:|---:|" + "---:|" * len(stages) + "---|"]
    for name, run in runs.items():
        cells = [f"{run['stages'][s]:.2f}" if s in run["stages"] else "" for s in stages]
        parts = ", ".join(f"{fmt} {n['laid_out']}/{n['cached']}" for fmt, n in run["layouts"].items())
        lines.append(f"| {name} | {run['seconds']:.2f} | {run['peak_mb']:.0f} | " + " | ".join(cells) + f" | {parts} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
