"""The press file and the wrap-around cover, read back as a print shop's preflight would:
operators and colour spaces (pikepdf), ink, boxes and slug, marks, page count, output intent,
the cover's width; and `publisher check` on good and bad files."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pikepdf
import pytest
from conftest import pdf_text, run_cli, write_post, write_series
from PIL import Image, ImageDraw

from publisher.errors import ManifestError
from publisher.manifest import load_manifest
from publisher.pipeline import BuildOptions, build

MM = 72 / 25.4
SHOP_PROFILE = Path("/usr/share/color/icc/ghostscript/ps_cmyk.icc")


def _photo(size=(1200, 800)) -> bytes:
    """A colourful photo with deep saturated shadows (where RGB -> CMYK piles up ink)."""
    im = Image.new("RGB", size, (20, 10, 60))
    draw = ImageDraw.Draw(im)
    for i in range(0, size[0], 40):
        draw.rectangle([i, 0, i + 20, size[1]], fill=(255 - i % 255, (i * 3) % 255, 90))
    draw.rectangle([0, 0, 200, 200], fill=(0, 0, 0))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95)
    return out.getvalue()


def _screenshot() -> bytes:
    """Grey line art: a PNG with black text-like strokes on white."""
    im = Image.new("RGB", (900, 300), (255, 255, 255))
    ImageDraw.Draw(im).rectangle([50, 100, 850, 120], fill=(0, 0, 0))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


IMAGES = {"/photo.jpg": (_photo(), "image/jpeg"), "/small.jpg": (_photo((500, 300)), "image/jpeg"),
          "/shot.png": (_screenshot(), "image/png")}


class _Images(BaseHTTPRequestHandler):
    def do_GET(self):
        body, kind = IMAGES.get(self.path, (b"", "text/plain"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def press_build(tmp_path_factory):
    """A three-episode series with photos and line art, built once as print, pdf and cover
    against a real HTTP server on 127.0.0.1; [print] asks for 8-page signatures."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    root = tmp_path_factory.mktemp("press")
    text = "<p>" + "印刷厂只接受单色黑的正文，四色黑在细笔画上会套不准。" * 30 + "</p>"
    for n, image in enumerate(("photo.jpg", "shot.png", "small.jpg"), 1):
        body = text + f'<p><img src="{base}/{image}"></p>' + text + "<blockquote><p>引文</p></blockquote>"
        write_post(root / "s" / "episodes" / f"{n:03d}.md", f"印刷测试#{n:03d}_第{n}篇", body,
                   date=f"Tue, 0{n} Aug 2021 00:00:00 GMT")
    series = write_series(root / "s", "印刷测试", extra='authors = ["测试作者"]\ndescription = "一本用来检查印刷文件的小书。"',
                          images={"allow-hosts": ["127.0.0.1"]}, print={"pages-multiple": 8, "marks": ["crop", "registration", "slug"]})
    mp = pytest.MonkeyPatch()
    mp.setenv("PUBLISHER_CACHE", str(root / "cache"))
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        mp.delenv(var, raising=False)
    try:
        report = build(series, BuildOptions(formats=("print", "pdf", "cover"), outdir=root / "out",
                                            cache_root=root / "cache"))
    finally:
        mp.undo()
        server.shutdown()
    return root / "out", report


def _walk(pdf: pikepdf.Pdf):
    """(page number, operator, operands, fill colour) for every operator of every page and form."""
    for number, page in enumerate(pdf.pages, 1):
        yield from _walk_stream(page, page.obj.get("/Resources", pikepdf.Dictionary()), number)


def _walk_stream(source, resources, number):
    """Fill colours as ("g"|"rg"|"k", values): `cs /DeviceCMYK` + `sc` (how WeasyPrint writes
    device-cmyk()) counts as k."""
    fill, stack = ("g", (0.0,)), []
    for operands, op in pikepdf.parse_content_stream(source):
        o = str(op)
        if o == "q":
            stack.append(fill)
        elif o == "Q" and stack:
            fill = stack.pop()
        elif o in ("g", "rg", "k"):
            fill = (o, tuple(float(v) for v in operands))
        elif o == "cs":
            fill = ({"/DeviceCMYK": "k", "/DeviceRGB": "rg", "/DeviceGray": "g"}.get(str(operands[0]), str(operands[0])), ())
        elif o in ("sc", "scn"):
            fill = (fill[0], tuple(float(v) for v in operands))
        yield number, o, operands, fill
        if o == "Do":
            xobject = resources.get("/XObject", {}).get(str(operands[0]))
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                yield from _walk_stream(xobject, xobject.get("/Resources", resources), number)


def _images(pdf: pikepdf.Pdf) -> list:
    return [o for o in pdf.objects if isinstance(o, pikepdf.Stream) and o.stream_dict.get("/Subtype") == "/Image"
            and not o.stream_dict.get("/ImageMask", False)]


def test_press_file_has_no_rgb_and_body_text_is_black_ink_only(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        ops = list(_walk(pdf))
        spaces = {str(img.stream_dict.get("/ColorSpace")) for img in _images(pdf)}
    assert not [o for _, o, _, _ in ops if o in ("rg", "RG")]
    assert not [a for _, o, a, _ in ops if o in ("cs", "CS") and str(a[0]) == "/DeviceRGB"]
    assert "/DeviceRGB" not in spaces and "/DeviceCMYK" in spaces  # the photo in CMYK
    assert "/DeviceGray" in spaces  # the grey screenshot on the black plate alone
    fills = [fill for _, o, _, fill in ops if o in ("Tj", "TJ")]
    solid = sum(1 for fill in fills if fill == ("k", (0.0, 0.0, 0.0, 1.0)))
    assert solid / len(fills) > 0.8  # body text: 100% K (the rest: captions and heads in K tints)
    assert all(f[0] == "k" and f[1][:3] == (0.0, 0.0, 0.0) for f in fills)  # no text on the colour plates


def test_photos_keep_under_the_ink_limit(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        worst = 0.0
        for image in _images(pdf):
            pil = pikepdf.PdfImage(image).as_pil_image()
            if pil.mode == "CMYK":
                worst = max(worst, max(sum(px) for px in pil.get_flattened_data()) * 100 / 255)
    assert 200 < worst <= 300  # the deep shadows were capped, not washed out


def test_boxes_slug_marks_and_signatures(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        count = len(pdf.pages)
        boxes = [{k: [float(v) for v in p.obj[k]] for k in ("/MediaBox", "/TrimBox", "/BleedBox")} for p in pdf.pages]
        marks = [(n, a) for n, o, a, _ in _walk(pdf) if o in ("m", "l")]
        annotations = sum(len(p.obj.get("/Annots", [])) for p in pdf.pages)
    assert count % 8 == 0  # [print] pages-multiple = 8
    assert annotations == 0  # PDF/X keeps the printed area for printer's marks; paper has no links
    for b in boxes:
        trim, bleed, media = b["/TrimBox"], b["/BleedBox"], b["/MediaBox"]
        assert abs((trim[2] - trim[0]) / MM - 148) < 0.1 and abs(bleed[0] - trim[0] + 3 * MM) < 0.01
        assert [round((bleed[i] - media[i]) * (1 if i < 2 else -1) / MM, 2) for i in range(4)] == [9.0] * 4
    # every mark's points lie beyond the BleedBox, inside the MediaBox
    bleed, media = boxes[0]["/BleedBox"], boxes[0]["/MediaBox"]
    points = [(float(a[0]), float(a[1])) for _, a in marks]
    assert points and all(not (bleed[0] < x < bleed[2] and bleed[1] < y < bleed[3]) for x, y in points)
    assert all(media[0] <= x <= media[2] and media[1] <= y <= media[3] for x, y in points)
    texts = [t.strip() for t in pdf_text(out / "s-print.pdf")[:count]]
    last = max(i for i, t in enumerate(texts) if t)
    with pikepdf.open(out / "s-print.pdf") as pdf:  # the padding after the last text: no folio, no image
        padding = [n for n, o, _, _ in _walk(pdf) if n > last + 1 and o in ("Do", "Tj", "TJ")]
    assert count - 1 - last < 8 and not padding


def test_slug_line_names_book_date_and_page_beyond_the_bleed(press_build):
    out, _ = press_build
    path = out / "s-print.pdf"
    with pikepdf.open(path) as pdf:
        count = len(pdf.pages)
        media_top = float(pdf.pages[0].MediaBox[3])
        bleed_bottom = float(pdf.pages[0].BleedBox[1])
    for number in (1, count // 2, count):  # a front page, a body page, the padding
        html = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), "-bbox", str(path), "-"],
                              capture_output=True, text=True).stdout
        words = [(float(top), float(bottom), word) for top, bottom, word in
                 re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', html)]
        line = [w for w in words if media_top - w[0] < bleed_bottom]  # tops below the bleed (PDF y upwards)
        assert [w[2] for w in line] == ["印刷测试", "·", "2023-11-14", "·", str(number)], (number, words[-6:])


def test_output_intent_and_pdfx_version(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        (intent,) = pdf.Root.OutputIntents
        profile = intent.DestOutputProfile.read_bytes()
        xmp = pdf.Root.Metadata.read_bytes()
        assert pdf.pdf_version == "1.6"  # PDF/X-4 is built on PDF 1.6
    assert intent.S == "/GTS_PDFX" and int(intent.DestOutputProfile.N) == 4 and profile[16:20] == b"CMYK"
    assert str(intent.OutputConditionIdentifier)
    assert b"PDF/X-4" in xmp


def test_low_resolution_warning_names_image_episode_and_ppi(press_build):
    out, _ = press_build
    warnings = json.loads((out / "report.json").read_text(encoding="utf-8"))["warnings"]
    small = [w for w in warnings if "small.jpg" in w["message"]]
    assert len(small) == 1 and "ppi" in small[0]["message"] and small[0]["where"].endswith("003.md")
    assert "第3篇" in small[0]["message"]


def test_check_passes_the_press_file_and_refuses_a_screen_pdf(press_build, tmp_path):
    out, _ = press_build
    good = run_cli("check", str(out / "s-print.pdf"))
    assert good.returncode == 0, good.stdout
    fake = tmp_path / "book-print.pdf"
    shutil.copyfile(out / "s.pdf", fake)
    bad = run_cli("check", str(fake))
    assert bad.returncode == 1
    for problem in ("DeviceRGB", "rich-black text", "bleed under 3 mm", "no PDF/X output intent"):
        assert problem in bad.stdout, bad.stdout
    assert "p1 " in bad.stdout  # named page by page
    plain = run_cli("check", str(out / "s.pdf"))  # not a press name, not asked: the screen PDF passes
    assert plain.returncode == 0, plain.stdout
    strict = run_cli("check", "--strict", str(out / "s-print.pdf"))  # low resolution refused too
    assert strict.returncode == 1 and "problem: images under 300 ppi" in strict.stdout, strict.stdout
    cover = run_cli("check", str(out / "s-cover.pdf"))  # one sheet, checked as a press file
    assert cover.returncode == 0 and "press preflight" in cover.stdout and "multiples of 1" in cover.stdout, cover.stdout


def test_check_refuses_ink_over_the_limit_and_a_page_count_off_the_multiple(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        multiple = next(m for m in (12, 24, 32, 64) if len(pdf.pages) % m)
    strict = run_cli("check", "--press", "--max-ink", "220", "--pages-multiple", str(multiple), str(out / "s-print.pdf"))
    assert strict.returncode == 1
    assert "ink over 220%" in strict.stdout and f"not a multiple of {multiple}" in strict.stdout


def test_wrap_around_cover(press_build):
    out, _ = press_build
    with pikepdf.open(out / "s-print.pdf") as pdf:
        pages = len(pdf.pages)
    with pikepdf.open(out / "s-cover.pdf") as pdf:
        (page,) = pdf.pages
        bleed = [float(v) for v in page.BleedBox]
        media = [float(v) for v in page.MediaBox]
        ops = list(_walk(pdf))
        spaces = {str(img.stream_dict.get("/ColorSpace")) for img in _images(pdf)}
        intents = [str(i.S) for i in pdf.Root.OutputIntents]
    spine = pages / 2 * 0.1
    assert abs((bleed[2] - bleed[0]) / MM - (2 * 148 + spine + 6)) < 0.1
    assert abs((bleed[3] - bleed[1]) / MM - 216) < 0.1 and media[0] < bleed[0]
    assert not [o for _, o, _, _ in ops if o in ("rg", "RG")] and spaces == {"/DeviceCMYK"}
    assert intents == ["/GTS_PDFX"]
    assert "印刷测试" in "".join(pdf_text(out / "s-cover.pdf")) and "一本用来检查" in "".join(pdf_text(out / "s-cover.pdf"))
    png = Image.open(out / "s-cover.png")
    assert png.mode == "RGB" and abs(png.height / png.width - 210 / 148) < 0.01


def test_shop_profile_and_condition_go_into_the_intent(tmp_path):
    shutil.copyfile(SHOP_PROFILE, tmp_path / "shop.icc")
    series = write_series(tmp_path, extra="", print={"icc": "shop.icc", "condition": "FOGRA39"})
    write_post(tmp_path / "episodes" / "001.md", "测试#001_一", "<p>正文。</p>")
    build(series, BuildOptions(formats=("print",), outdir=tmp_path / "out", cache_root=tmp_path / "cache"))
    with pikepdf.open(tmp_path / "out" / f"{tmp_path.name.lower()}-print.pdf") as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert str(intent.OutputConditionIdentifier) == "FOGRA39"
        assert intent.DestOutputProfile.read_bytes() == SHOP_PROFILE.read_bytes()
        assert len(pdf.pages) % 4 == 0


def test_print_settings_report_every_problem_at_once(tmp_path):
    (tmp_path / "rgb.icc").write_bytes(Path("/usr/share/color/icc/ghostscript/srgb.icc").read_bytes())
    write_post(tmp_path / "episodes" / "001.md", "测试#001_一", "<p>正文。</p>")
    (tmp_path / "series.toml").write_text(
        'title = "t"\nepisodes = ["episodes/*.md"]\n[print]\nmax-ink = 900\npages-multiple = 5\n'
        'marks = ["crops"]\nicc = "rgb.icc"\npaper-thicknes = 0.1\n', encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    problems = caught.value.problems
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "series.toml:4: print.max-ink must be between 200 and 400" in text
    assert "series.toml:5: print.pages-multiple" in text
    assert "did you mean 'crop'" in text and "RGB profile" in text
    assert "did you mean 'print.paper-thickness'" in text


def test_cmyk_css_converts_colours_not_selectors_or_strings():
    from publisher.manifest import PressSettings
    from publisher.render.press import cmyk_css, press_plan
    plan = press_plan(PressSettings(), 3.0)
    css = cmyk_css('#abc { color: #111; content: "#555"; border: 1px solid #888 } '
                   '@page { @top-left { color: #555 } } p { background: #c00 }', plan)
    assert css.startswith("#abc")
    assert "color:device-cmyk(0 0 0 1)" in css.replace(": ", ":")  # near-black: solid K
    assert '"#555"' in css and "device-cmyk(0 0 0 0.467)" in css and "device-cmyk(0 0 0 0.667)" in css
    red = css.split("background:")[1].split("device-cmyk(")[1].split(")")[0]
    cyan, magenta, yellow, black = map(float, red.split())
    assert magenta > 0.7 and yellow > 0.7  # a hue goes on the colour plates, through the profile


def _handmade(tmp_path: Path, content: bytes, images: dict, pages: int = 1, slug: float = 9) -> Path:
    """A PDF written with pikepdf: A5 pages with 3 mm bleed and a slug, `content` on each."""
    pdf = pikepdf.new()
    w, h, b, s = 148 * MM, 210 * MM, 3 * MM, slug * MM
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(w, h))
        page.obj.TrimBox, page.obj.BleedBox = [0, 0, w, h], [-b, -b, w + b, h + b]
        page.obj.MediaBox = [-b - s, -b - s, w + b + s, h + b + s]
        xobjects = {f"/{name}": pdf.make_stream(raw, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                                                Height=height, ColorSpace=pikepdf.Name(space), BitsPerComponent=8)
                    for name, (raw, width, height, space) in images.items()}
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects))
        page.obj.Contents = pdf.make_stream(content)
    path = tmp_path / "made-print.pdf"
    pdf.save(path)
    return path


def test_preflight_names_each_problem_page_by_page(tmp_path):
    from publisher.preflight import PressLimits, preflight
    content = (b"BT 0.6 0.5 0.5 1 k 10 0 0 10 50 500 Tm (rich) Tj ET "  # four-colour black text
               b"BT 0 0 0 1 k 10 0 0 10 50 480 Tm (solid) Tj ET "  # single-ink black: fine
               b"0.9 0.9 0.9 0.9 k 0 0 10 10 re f "  # 360% ink
               b"q 0.4 0 0 0.4 50 50 cm /Ink Do Q q 288 0 0 288 50 200 cm /Web Do Q")  # Ink: 360 ppi
    images = {"Ink": (b"\xff" * 4 * 4, 2, 2, "/DeviceCMYK"),  # every pixel 400%
              "Web": (b"\x80" * 3 * 400 * 400, 400, 400, "/DeviceRGB")}  # 400 px across 4 in: 100 ppi
    with pikepdf.open(_handmade(tmp_path, content, images, pages=6)) as pdf:
        problems, warnings = preflight(pdf, PressLimits())
    text = "\n".join(problems)
    assert "page count 6 is not a multiple of 4" in text and "no PDF/X output intent" in text
    assert "rich-black text (black on several plates) on 6 page(s): p1 (CMYK 0.6 0.5 0.5 1)" in text
    assert "ink over 300% on 6 page(s): p1 (CMYK 0.9 0.9 0.9 0.9)" in text
    assert "DeviceRGB colour (images) on 6 page(s): p1 (/Web)" in text
    assert "… and 1 more page(s)" in text  # the first five pages named, the rest counted
    assert not any("slug" in p or "bleed" in p for p in problems)
    assert warnings == ["images under 300 ppi on 6 page(s): p1 (/Web: 100 ppi); p2 (/Web: 100 ppi); "
                        "p3 (/Web: 100 ppi); p4 (/Web: 100 ppi); p5 (/Web: 100 ppi) … and 1 more page(s)"]
    ink_only = {"Ink": images["Ink"]}
    with pikepdf.open(_handmade(tmp_path, b"q 0.4 0 0 0.4 50 50 cm /Ink Do Q", ink_only, pages=4, slug=1)) as pdf:
        problems, _ = preflight(pdf, PressLimits())
    assert any(p.startswith("no slug of 3 mm") and "(1.0 mm)" in p for p in problems)
    assert any(p.startswith("ink over 300% on 4 page(s): p1 (image /Ink: 400%)") for p in problems)


def _twin_series(root: Path, base: str) -> Path:
    """Two episodes with what the press file paints otherwise than the screen: photos and line
    art (converted inks), a table with collapsed borders, links (footnotes), a quotation."""
    table = ("<table><thead><tr><th>产品</th><th>发布</th></tr></thead><tbody>"
             + "".join(f"<tr><td>产品{i}</td><td>20{10 + i}年</td></tr>" for i in range(6)) + "</tbody></table>")
    text = "<p>" + "印刷厂拿到的页面，要和屏幕上的一页一页对得上。" * 20 + "</p>"
    for n, image in enumerate(("photo.jpg", "shot.png"), 1):
        body = (text + f'<p><img src="{base}/{image}" alt="图{n}"></p><p>详见<a href="https://example.com/{n}">官网</a>。</p>'
                + table + text + "<blockquote><p>引文</p></blockquote>")
        write_post(root / "episodes" / f"{n:03d}.md", f"双胞胎#{n:03d}_第{n}篇", body)
    return write_series(root, "双胞胎", images={"allow-hosts": ["127.0.0.1"]}, print={"marks": ["crop", "slug"]})


@pytest.fixture
def image_host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _pages(pdf: Path, folder: Path) -> list[bytes]:
    """Every page at 40 dpi, as PNG bytes."""
    folder.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "p")], check=True)
    return [p.read_bytes() for p in sorted(folder.glob("*.png"))]


def test_a_build_of_both_pdfs_paints_the_press_file_from_the_screen_layout(tmp_path, image_host, monkeypatch):
    """With -f pdf -f print, each episode is laid out once: its press part is painted from the
    screen part's layout (render/repaint.py), and the press file is the one a build of the press
    file alone lays out: the same text on the same lines, the same pixels, no RGB."""
    import weasyprint
    series = _twin_series(tmp_path / "s", image_host)
    layouts = []
    original = weasyprint.HTML.render
    monkeypatch.setattr(weasyprint.HTML, "render", lambda self, *a, **k: layouts.append(1) or original(self, *a, **k))
    both = build(series, BuildOptions(formats=("print", "pdf"), outdir=tmp_path / "both", jobs=1))
    # the press file's own parts are its blank page, folio digits, slug sheet and front matter
    assert both.layouts["print"] == {"laid_out": 4, "cached": 2}
    # screen: 2 episodes, blank, digits (in this process; each front matter in a child process)
    assert len(layouts) == 2 + 2 + 3
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "alone-cache"))
    alone = build(series, BuildOptions(formats=("print",), outdir=tmp_path / "alone", jobs=1))
    assert alone.layouts["print"] == {"laid_out": 6, "cached": 0}
    painted, laid = tmp_path / "both" / "s-print.pdf", tmp_path / "alone" / "s-print.pdf"
    assert pdf_text(painted) == pdf_text(laid)
    assert _pages(painted, tmp_path / "painted") == _pages(laid, tmp_path / "laid")
    with pikepdf.open(painted) as pdf:
        assert not [o for _, o, _, fill in _walk(pdf) if fill[0] == "rg" and o in ("TJ", "Tj", "f", "re", "S")]
        assert {str(i.stream_dict.ColorSpace) for i in _images(pdf)} <= {"/DeviceCMYK", "/DeviceGray"}


def test_a_press_file_whose_pages_differ_from_the_screen_is_laid_out_itself(tmp_path, image_host, monkeypatch):
    """A theme whose press.css moves text (here: a larger body size) gets press pages of their
    own, not the screen's painted: the same file a build of the press file alone makes."""
    series = _twin_series(tmp_path / "s", image_host)
    (series / "series.toml").write_text('theme = "mine"\n' + (series / "series.toml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    css = series / "themes" / "mine" / "css" / "press.css"
    css.parent.mkdir(parents=True)
    css.write_text((Path(__file__).parents[1] / "themes" / "default" / "css" / "press.css").read_text(encoding="utf-8")
                   + "\np { font-size: 12pt; }\n", encoding="utf-8")
    build(series, BuildOptions(formats=("pdf", "print"), outdir=tmp_path / "both", jobs=1))
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "alone-cache"))
    build(series, BuildOptions(formats=("print",), outdir=tmp_path / "alone", jobs=1))
    press = pdf_text(tmp_path / "both" / "s-print.pdf")
    assert press == pdf_text(tmp_path / "alone" / "s-print.pdf")
    assert press != pdf_text(tmp_path / "both" / "s.pdf")  # the fixture does move text
