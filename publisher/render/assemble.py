"""Rendered parts -> one PDF book, written part by part (pikepdf reads, pdfwrite writes).

The front matter comes first (its metadata, output intent and information dictionary are the
book's), padded to an even count; each episode's pages follow, a blank page before any episode
that would otherwise open on a verso; folios are stamped on body pages from a sheet of digits
(so an episode's pages never depend on where it lands, and stay cached when another episode
changes length); then one subset per font face for the whole book, bookmarks, /PageLabels
(roman front matter, arabic body) and the 目录's links. A press file's pages are dressed
(press.Dressing): the slug and its marks on every page, blank pages to fill the last
signature, and the output intent.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Name

from ..normalize import TocEntry
from . import navigation
from .fonts import BookFonts
from .parts import RenderedPart
from .pdfwrite import PartCopier, PdfWriter, serialize
from .segments import KEY_RUN, NUMBER_RUN, WRITER_CODE, Earlier, Segment, copy_segment, open_earlier, run_of

PX = 0.75  # points per CSS px


@dataclass(frozen=True)
class Folios:
    """Where folios go and the digits to draw them with (a rendered sheet: page d shows d)."""

    sheet: RenderedPart
    advance: tuple[float, ...]  # CSS px of each digit 0-9
    origin_x: float  # CSS px where each digit is drawn on its sheet page
    outer: float  # CSS px from the outer trim edge to the folio

    def stamp(self, writer, text: str, recto: bool, digits: list[int]) -> tuple[int, dict]:
        """A content stream drawing folio `text` at the outer corner, and the XObjects it uses."""
        length = sum(self.advance[int(c)] for c in text)
        x = self.sheet.size[0] - self.outer - length if recto else self.outer
        operators, xobjects = [], {}
        for c in text:
            xobjects[f"/PubDigit{c}"] = digits[int(c)]
            operators.append(b"q 1 0 0 1 %.3f 0 cm /PubDigit%s Do Q" % ((x - self.origin_x) * PX, c.encode()))
            x += self.advance[int(c)]
        # marked as an artifact: a folio is page furniture, not text (ISO 32000 §14.8.2.2)
        content = b"/Artifact <</Type /Pagination /Subtype /Footer>> BDC\n" + b"\n".join(operators) + b"\nEMC\n"
        return writer.new_stream(b"", content), xobjects


@dataclass(frozen=True)
class ChapterMarks:
    title: str
    key: str
    toc: tuple[TocEntry, ...]


def body_layout(parts: list[RenderedPart]) -> list[int]:
    """Body page index (0-based) where each episode starts: always an odd folio (a recto)."""
    starts, page = [], 0
    for part in parts:
        page += page % 2
        starts.append(page)
        page += part.pages
    return starts


@dataclass(frozen=True)
class _Frame:
    """What every page written into the book shares: the writer, the page tree, every page's
    object number, the fonts, the tag tree, a press file's dressing, the streams that wrap a
    part's content where a folio is stamped."""

    writer: PdfWriter
    pages_root: int
    numbers: list
    fonts: "BookFonts"
    structure: "_Structure"
    dressed: "_PageDress | None"
    wrap: tuple[int, int]

    def dress(self, index: int):
        return self.dressed and self.dressed.of(index)


def assemble(front: RenderedPart, episodes: list[RenderedPart], blank: RenderedPart, folios: Folios,
             chapters: list[ChapterMarks], front_marks: dict[str, str], fonts_folder: Path, out: Path,
             document_id: str, dress=None, toc_targets: dict | None = None,
             earlier: "Earlier | None" = None) -> dict[str, "Segment"]:
    """Write the book to `out`; -> where each episode's objects lie in it (for the next build:
    `earlier`, a book written before at another path, whose unchanged episodes are copied as
    they lie instead of being written again object by object). A press file is always written
    anew (it is not what an edit loop rebuilds)."""
    front_count = front.pages + front.pages % 2
    starts = body_layout(episodes)
    body_count = (starts[-1] + episodes[-1].pages) if episodes else 0
    pad = -(front_count + body_count) % dress.multiple if dress else 0
    writer = PdfWriter(out, b"1.6" if dress else b"1.7")  # PDF/X-4 is PDF 1.6 (ISO 15930-7 §6.1)
    pages_root = writer.reserve()
    numbers = [writer.reserve() for _ in range(front_count + body_count + pad)]  # every page's object
    slug_sheet = [dress.slug_line.sheet] if dress and dress.slug_line else []
    fonts = BookFonts(writer, [front, blank, folios.sheet] + slug_sheet + episodes, fonts_folder)
    wrap = writer.new_stream(b"", b"q\n", compress=False), writer.new_stream(b"", b"\nQ\n", compress=False)
    frame = _Frame(writer, pages_root, numbers, fonts, _Structure(writer),
                   _PageDress(writer, dress, fonts.hook, *wrap) if dress else None, wrap)
    where = {}  # anchor -> (page object number, y) for links and bookmarks
    for part, start in zip(episodes, starts):
        for anchor, (page, _, y) in part.anchors.items():
            where[anchor] = (numbers[front_count + start + page], y)
    # a press file has no links
    links = {} if dress else navigation.toc_links(writer, front, where, front.size[1], toc_targets or {})
    catalog, info = _write_front(frame, front, links, document_id, dress)
    blanks = _blank_pages(front_count, starts, episodes, front.pages % 2 == 1)
    _write_blanks(frame, blank, blanks + list(range(front_count + body_count, len(numbers))))  # and the last signature's
    earlier = None if dress else earlier
    with open_earlier(earlier) as earlier:
        segments = _write_episodes(frame, episodes, starts, front_count, folios, earlier)
        if frame.structure.used:
            catalog["/StructTreeRoot"] = b"%d 0 R" % frame.structure.write()
        segments.update(fonts.write(earlier))
    outline = navigation.outline(writer, front, episodes, starts, front_count, numbers, chapters, front_marks,
                                 front.size[1])
    writer.object(pages_root, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (
        len(numbers), b" ".join(b"%d 0 R" % n for n in numbers)))
    root = writer.reserve()
    extra = b"".join(Name(k).unparse() + b" " + v + b" " for k, v in catalog.items())
    writer.object(root, b"<< /Type /Catalog /Pages %d 0 R /Outlines %d 0 R /PageMode /UseOutlines "
                        b"/PageLabels << /Nums [0 << /S /r >> %d << /S /D >>] >> %s>>"
                  % (pages_root, outline, front_count, extra))
    writer.finish(root, info)
    return {} if dress else segments


def _write_front(frame: _Frame, front: RenderedPart, links: dict, document_id: str, dress) -> tuple[dict, int]:
    """The front matter's pages (with the 目录's links); -> the catalog entries and the
    information dictionary the book takes from it."""
    writer, fonts = frame.writer, frame.fonts
    with pikepdf.open(front.path) as source:
        copier, offset = _part_copier(writer, source, frame.numbers[:front.pages], fonts, frame.structure)
        for index, page in enumerate(source.pages):
            _write_page(writer, copier, page.obj, frame.numbers[index], frame.pages_root, annots=links.get(index, ()),
                        struct_offset=offset, dress=frame.dress(index))
        catalog = {key: serialize(source.Root[key], copier.ref, fonts.hook)
                   for key in ("/OutputIntents", "/Lang", "/MarkInfo", "/ViewerPreferences") if key in source.Root}
        if dress:
            catalog["/OutputIntents"] = dress.intents(writer)
        if "/Metadata" in source.Root:
            catalog["/Metadata"] = b"%d 0 R" % _metadata(writer, source.Root.Metadata.read_bytes(), document_id)
        info = writer.reserve()
        writer.object(info, serialize(pikepdf.Dictionary(source.trailer.Info), copier.ref, fonts.hook)
                      if "/Info" in source.trailer else b"<<>>")
        frame.structure.collect(source, copier, offset)
        copier.drain()
    return catalog, info


def _write_blanks(frame: _Frame, blank: RenderedPart, indexes: list[int]) -> None:
    """The blank page at each of `indexes` (versos before rectos, padding)."""
    with pikepdf.open(blank.path) as source:
        copier = PartCopier(frame.writer, source, dict_hook=frame.fonts.hook)
        for index in indexes:
            _write_page(frame.writer, copier, source.pages[0].obj, frame.numbers[index], frame.pages_root,
                        dress=frame.dress(index))
        copier.drain()


def _write_episodes(frame: _Frame, episodes: list[RenderedPart], starts: list[int], front_count: int,
                    folios: Folios, earlier: Earlier | None) -> dict[str, Segment]:
    """Each episode's pages where the book puts them, their folios stamped; copied from the
    `earlier` book (open) where they would be written byte for byte as they are there."""
    writer = frame.writer
    digits = _digit_forms(writer, folios.sheet, frame.fonts.hook)
    shared = _shared_key(frame, folios, digits)
    segments = {}
    for part, start in zip(episodes, starts):
        first = front_count + start
        base, offset = writer.next_number, frame.structure.next_key
        where_it_goes = (shared, part.path.name, part.pages, first, start, base, offset)
        key = hashlib.sha256(repr(where_it_goes).encode()).hexdigest()
        found = earlier.segments.get(key) if earlier else None
        if found is not None:
            segments[key] = copy_segment(earlier, writer, frame.structure, found)
        else:
            segments[key] = _write_segment(frame, part, first, start, folios, digits)
        writer.next_number = base + segments[key].reserved
        frame.structure.next_key = offset + segments[key].keys
    return segments


def _write_segment(frame: _Frame, part: RenderedPart, first: int, start: int, folios: Folios, digits) -> Segment:
    writer, structure = frame.writer, frame.structure
    base, keys, at, written = writer.next_number, structure.next_key, writer.file.tell(), len(writer.offsets)
    kids, nums = len(structure.kids), len(structure.nums)
    writer.begin_run()
    with pikepdf.open(part.path) as source:
        copier, offset = _part_copier(writer, source, frame.numbers[first:first + part.pages], frame.fonts, structure)
        for i, page in enumerate(source.pages):
            index = first + i
            stamp = folios.stamp(writer, str(start + i + 1), recto=(index + 1) % 2 == 1, digits=digits)
            _write_page(writer, copier, page.obj, frame.numbers[index], frame.pages_root,
                        contents=(*frame.wrap, stamp[0]), xobjects=stamp[1], struct_offset=offset,
                        dress=frame.dress(index))
        had_namespaces = structure.namespaces is not None
        structure.collect(source, copier, offset)
        copier.drain()
        tagged = "/StructTreeRoot" in source.Root
    digest = writer.end_run()
    objects = tuple((n, writer.offsets[n] - at) for n in itertools.islice(writer.offsets, written, None))
    namespaces = None if had_namespaces or structure.namespaces is None else structure.namespaces.decode("latin-1")
    return Segment(at, writer.file.tell(), objects, run_of(writer.next_number - base, NUMBER_RUN),
                   tuple(k.decode("latin-1") for k in structure.kids[kids:]),
                   tuple(n.decode("latin-1") for n in structure.nums[nums:]),
                   run_of(structure.next_key - keys, KEY_RUN), namespaces, tagged, digest)


def _shared_key(frame: _Frame, folios: Folios, digits) -> tuple:
    """What every episode's bytes depend on besides the episode: the objects they point at."""
    fonts = frame.fonts
    return (WRITER_CODE, frame.pages_root, frame.wrap, tuple(digits), frame.structure.root,
            sorted(fonts.numbers.items()), sorted(fonts.face_of.items()),
            folios.sheet.path.name, folios.advance, folios.origin_x, folios.outer, folios.sheet.size)


def _metadata(writer, xmp: bytes, document_id: str) -> int:
    """The XMP packet, with the random document id WeasyPrint 70 gives PDF/X-4 files replaced
    by the book's own (stable across builds, as the id of one document should be)."""
    xmp = re.sub(rb"xmp\.did:[0-9a-f-]{36}", b"xmp.did:" + document_id.encode(), xmp)
    return writer.new_stream(b" /Type /Metadata /Subtype /XML", xmp, compress=False)


def _blank_pages(front_count: int, starts: list[int], episodes: list[RenderedPart], pad_front: bool) -> list[int]:
    """Page indexes (in the book) that are blank: the front matter's padding and versos left
    empty so that the next episode opens on a recto."""
    blanks = [front_count - 1] if pad_front else []
    end = 0
    for part, start in zip(episodes, starts):
        blanks += [front_count + i for i in range(end, start)]
        end = start + part.pages
    return blanks


def _part_copier(writer, source, page_numbers: list[int], fonts, structure):
    """A copier for one part whose pages get the given numbers; with the part's tag tree
    joined to the book's (its parent-tree keys shifted by the returned offset)."""
    preassigned = {page.obj.objgen: number for page, number in zip(source.pages, page_numbers)}
    offset, root = structure.begin(source)
    if root is not None:
        preassigned[root] = structure.root

    def hook(dictionary):
        replaced = fonts.hook(dictionary)
        if "/StructParent" in dictionary:
            replaced["/StructParent"] = b"%d" % (int(dictionary.StructParent) + offset)
        return replaced
    copier = PartCopier(writer, source, preassigned, dict_hook=hook)
    copier.queued.update(preassigned)
    return copier, offset


class _Structure:
    """The book's tag tree (ISO 32000 §14.7): every tagged part's elements under one
    StructTreeRoot, their parent trees concatenated with shifted keys."""

    def __init__(self, writer):
        self.writer, self.root = writer, writer.reserve()
        self.kids: list[bytes] = []
        self.nums: list[bytes] = []
        self.next_key = 0
        self.namespaces: bytes | None = None
        self.used = False

    def begin(self, source) -> tuple[int, tuple | None]:
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            return 0, None
        offset = self.next_key
        keys = list(tree.ParentTree.get("/Nums", []))[::2]
        self.next_key = offset + (max(int(k) for k in keys) + 1 if keys else 0)
        return offset, tree.objgen

    def collect(self, source, copier, offset: int) -> None:
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            return
        self.used = True
        kids = tree.get("/K")
        for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
            self.kids.append(copier.serialize(kid))
        nums = list(tree.ParentTree.get("/Nums", []))
        for key, value in zip(nums[::2], nums[1::2]):
            self.nums.append(b"%d %s" % (int(key) + offset, copier.serialize(value)))
        if self.namespaces is None and "/Namespaces" in tree:
            self.namespaces = copier.serialize(tree.Namespaces)

    def write(self) -> int:
        extra = b" /Namespaces " + self.namespaces if self.namespaces else b""
        self.writer.object(self.root, b"<< /Type /StructTreeRoot /K [%s] /ParentTree << /Nums [%s] >> "
                                      b"/ParentTreeNextKey %d%s >>" % (
                                          b" ".join(self.kids), b" ".join(self.nums), self.next_key, extra))
        return self.root


def _write_page(writer, copier, page, number: int, parent: int, contents=None, xobjects=None, annots=(),
                struct_offset: int = 0, dress=None) -> None:
    """A page dictionary under our page tree, optionally with content wrapped and stamped
    (contents = (begin, end, stamp) stream numbers), extra XObjects and annotations; a press
    page dressed (`_PageDress.of`): the slug added, marks drawn in it."""
    skip = {"/Parent", "/Contents", "/Annots", "/Resources", "/StructParents"} | ({"/MediaBox"} if dress else set())
    entries = [Name(k).unparse() + b" " + copier.serialize(page[k]) for k in sorted(page.keys()) if k not in skip]
    if dress:
        entries.append(b"/MediaBox " + dress[0])
    if "/StructParents" in page:
        entries.append(b"/StructParents %d" % (int(page.StructParents) + struct_offset))
    original = page.get("/Contents")
    refs = [] if original is None else ([original] if not isinstance(original, pikepdf.Array) else list(original))
    streams = [copier.serialize(r) for r in refs]
    if contents:
        begin, end, stamp = contents
        streams = [b"%d 0 R" % begin] + streams + [b"%d 0 R" % end, b"%d 0 R" % stamp]
    if dress:  # the marks in default user space, whatever the page's content left behind
        if not contents:
            streams = [b"%d 0 R" % dress[2]] + streams + [b"%d 0 R" % dress[3]]
        streams += [b"%d 0 R" % n for n in dress[1]]
        xobjects = {**(xobjects or {}), **dress[4]}
    entries.append(b"/Contents [" + b" ".join(streams) + b"]")
    resources = page.get("/Resources", pikepdf.Dictionary())
    if xobjects:
        inner = [Name(k).unparse() + b" " + copier.serialize(resources[k])
                 for k in sorted(resources.keys()) if k != "/XObject"]
        existing = resources.get("/XObject", pikepdf.Dictionary())
        xobject = [Name(k).unparse() + b" " + copier.serialize(existing[k]) for k in sorted(existing.keys())]
        xobject += [Name(k).unparse() + b" %d 0 R" % v for k, v in xobjects.items()]
        entries.append(b"/Resources << " + b" ".join(inner) + b" /XObject << " + b" ".join(xobject) + b" >> >>")
    else:
        entries.append(b"/Resources " + copier.serialize(resources))
    # a press file carries no annotations: PDF/X allows none on the printed area but printer's
    # marks and trap networks (ISO 15930-7 §6.3.3), and paper has no links to follow
    kept = [] if dress else page.get("/Annots", [])
    annotations = [copier.serialize(a) for a in kept] + [b"%d 0 R" % a for a in annots]
    if annotations:
        entries.append(b"/Annots [" + b" ".join(annotations) + b"]")
    writer.object(number, b"<< /Type /Page /Parent %d 0 R " % parent + b" ".join(
        e for e in entries if not e.startswith(b"/Type ")) + b" >>")


class _PageDress:
    """A press file's dressing (press.Dressing) as each page gets it: the MediaBox, the marks'
    stream, the slug line's stream with this page's number, and the forms it draws."""

    def __init__(self, writer, dress, hook, begin: int, end: int):
        self.writer, self.dress, self.begin, self.end = writer, dress, begin, end
        self.marks = writer.new_stream(b"", dress.marks)
        self.slug_forms = _digit_forms(writer, dress.slug_line.sheet, hook, range(11)) if dress.slug_line else []

    def of(self, index: int) -> tuple:
        """(MediaBox, stream numbers to add, begin, end, XObjects) of book page `index`."""
        if not self.slug_forms:
            return self.dress.media_box, [self.marks], self.begin, self.end, {}
        number = str(index + 1)
        slug = self.writer.new_stream(b"", self.dress.slug_line.content(number, self.dress.slug_line_at))
        forms = {"/PubSlug": self.slug_forms[0], **{f"/PubSlug{d}": self.slug_forms[int(d) + 1] for d in number}}
        return self.dress.media_box, [self.marks, slug], self.begin, self.end, forms


def _digit_forms(writer, sheet: RenderedPart, hook, pages=range(10)) -> list[int]:
    """The sheet's pages (0-9: each shows one digit where folios go) as Form XObjects."""
    numbers = []
    with pikepdf.open(sheet.path) as source:
        copier = PartCopier(writer, source, dict_hook=hook)
        for d in pages:
            page = source.pages[d]
            contents = page.obj.get("/Contents")
            parts = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            data = b"\n".join(p.read_bytes() for p in parts if p is not None)
            box = b" ".join(serialize(v, copier.ref) for v in page.obj.MediaBox)
            resources = serialize(page.obj.get("/Resources", pikepdf.Dictionary()), copier.ref, hook)
            numbers.append(writer.new_stream(b" /Type /XObject /Subtype /Form /BBox [%s] /Resources %s" % (box, resources),
                                             data))
        copier.drain()
    return numbers
