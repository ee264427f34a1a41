"""Font programs for PDF parts: what glyphs of which program a part uses, each installed
program copied out of HarfBuzz once per process, and one HarfBuzz subset of a face.

Book parts are written without font programs (`LEDGER`, `PartJob.defer_fonts`): each records
which glyphs of which program it uses, and the assembler embeds one subset per face for the
whole book (`subset_font`). Per-part subsets would repeat the same CJK glyphs in every episode
(about 1 MB per episode). A file of its own (a handout) gets its subsets here, made the same way.
Wraps WeasyPrint 70 (`Font.subset`, `get_hb_object_data`); installed with the engine
(`parts._load_engine`). `BookFonts` is the assembler's side: one subset per face for a book.
"""
from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..cache import font_file, keep_font
from .segments import WRITER_CODE, Earlier, Segment

if TYPE_CHECKING:
    from .parts import RenderedPart


class _FontLedger:
    """While a part is written: the fonts it uses, their programs kept aside (WeasyPrint 70's
    Font.subset is wrapped; a four-byte stub stays so the font type is still recognised)."""

    def __init__(self):
        self.active = False
        self.used: dict = {}
        self.files: dict = {}  # (family, weight, style, index, size) -> file key
        self.folder: Path | None = None

    def install(self) -> None:
        from weasyprint.pdf.fonts import Font
        if getattr(Font.subset, "deferred", False):
            return

        def subset(font, to_unicode, hinting):
            if not LEDGER.active:  # a file of its own (a handout): its subsets made here as the assembler makes the book's
                if to_unicode:
                    import uharfbuzz as hb
                    font.file_content = subset_font(hb.Face(hb.Blob(font.file_content), font.index), to_unicode,
                                                    notdef_outline=bool(font.missing))
                return
            LEDGER.used[font.name.decode()[1:]] = (self.file_key(font), font.index, sorted(to_unicode))
            # the magic WeasyPrint reads the font type from: a subset of a CFF face is 'OTTO'
            cff = "CFF " in font.tables or "CFF2" in font.tables
            font.file_content = b"OTTO" if cff else b"\x00\x01\x00\x00"
        subset.deferred = True
        Font.subset = subset

    def file_key(self, font) -> str:
        identity = (font.family, font.weight, font.style, font.index, len(font.file_content))
        if identity not in self.files:  # hashing a 20 MB font once per process is enough
            self.files[identity] = hashlib.sha256(font.file_content).hexdigest()[:32]
        key = self.files[identity]
        if font_file(self.folder, key) is None:
            keep_font(self.folder, key, bytes(font.file_content))
        return key


LEDGER = _FontLedger()

# tables a PDF viewer never reads from an embedded font (WeasyPrint 70 drops the same)
DROP_TABLES = ("BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH", "PCLT", "SVG ")


def subset_font(face, glyphs, notdef_outline: bool = False) -> bytes:
    """A subset of `face` (a uharfbuzz Face) with `glyphs` kept at their glyph ids (as WeasyPrint
    writes them: CIDToGIDMap /Identity holds), unhinted, desubroutinized: one HarfBuzz pass.
    WeasyPrint 70 makes two (the second drops the empty slots after the last glyph used: 2% of
    a handout's bytes, and a third of the time it takes to write one)."""
    import uharfbuzz as hb
    wanted = hb.SubsetInput()
    for glyph in sorted(set(glyphs) | {0}):
        wanted.glyph_set.add(glyph)
    for tag in DROP_TABLES:
        raw = tag.encode().ljust(4)
        wanted.drop_table_tag_set.add((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3])
    flags = (hb.SubsetFlags.RETAIN_GIDS | hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED
             | hb.SubsetFlags.DESUBROUTINIZE | hb.SubsetFlags.NO_HINTING)
    wanted.flags = flags | hb.SubsetFlags.NOTDEF_OUTLINE if notdef_outline else flags
    return bytes(hb.subset(face, wanted).blob.data)


_PROGRAMS: dict = {}  # (blob address, length, face index, glyph count) -> an installed font's bytes


def keep_font_programs() -> None:
    """WeasyPrint 70 copies a font's whole program out of HarfBuzz for every document that uses
    it (Noto CJK: 20-26 MB, 12-16 ms each; cProfile: 5% of writing a book part, 8% of a
    handout). The installed faces live as long as the process's font configuration, so each is
    copied once per process. Faces made by subsetting are never kept: they are freed and their
    memory reused."""
    import weasyprint.pdf.fonts as pdf_fonts
    from weasyprint.text.ffi import ffi, harfbuzz
    if getattr(pdf_fonts.get_hb_object_data, "kept", False):
        return
    original = pdf_fonts.get_hb_object_data
    installed = set()
    face_of = pdf_fonts.get_pango_font_hb_face

    def installed_face(pango_font):
        face = face_of(pango_font)
        installed.add(int(ffi.cast("uintptr_t", face)))
        return face

    def program(hb_object, ot_color=None, glyph=None):
        if ot_color is not None or int(ffi.cast("uintptr_t", hb_object)) not in installed:
            return original(hb_object, ot_color, glyph)
        blob = harfbuzz.hb_face_reference_blob(hb_object)
        with ffi.new("unsigned int *") as length:
            address = int(ffi.cast("uintptr_t", harfbuzz.hb_blob_get_data(blob, length)))
            key = (address, int(length[0]), harfbuzz.hb_face_get_index(hb_object),
                   harfbuzz.hb_face_get_glyph_count(hb_object))
        harfbuzz.hb_blob_destroy(blob)
        if key not in _PROGRAMS:
            _PROGRAMS[key] = original(hb_object)
        return _PROGRAMS[key]
    program.kept = True
    pdf_fonts.get_pango_font_hb_face = installed_face
    pdf_fonts.get_hb_object_data = program


class BookFonts:
    """One subset per font face for the whole book, with the union of the glyphs every part
    uses, kept at their glyph ids (as WeasyPrint subsets, so CIDToGIDMap /Identity holds)."""

    def __init__(self, writer, parts: list[RenderedPart], folder: Path):
        self.writer, self.folder = writer, folder
        self.glyphs: dict[tuple[str, int], set] = {}
        self.face_of: dict[str, tuple[str, int]] = {}
        for part in parts:
            for name, (file_key, index, glyphs) in part.fonts.items():
                self.glyphs.setdefault((file_key, index), set()).update(glyphs)
                self.face_of[name] = (file_key, index)
        self.numbers = {face: writer.reserve() for face in self.glyphs}

    def hook(self, dictionary) -> dict:
        if dictionary.get("/Type") != "/FontDescriptor":  # a pikepdf Name equals its text
            return {}
        face = self.face_of.get(str(dictionary.get("/FontName", "")).lstrip("/"))
        if face is None:
            return {}
        return {key: b"%d 0 R" % self.numbers[face] for key in ("/FontFile2", "/FontFile3") if key in dictionary}

    def write(self, earlier: Earlier | None) -> dict[str, Segment]:
        """Each face's subset; copied from the `earlier` book (open) when it holds the same
        glyphs under the same number (subsetting and deflating three CJK faces took 0.1 s of an
        edit's rebuild). -> where each lies, as segments."""
        import uharfbuzz as hb
        written = {}
        for (file_key, index), glyphs in self.glyphs.items():
            number = self.numbers[(file_key, index)]
            key = hashlib.sha256(repr((WRITER_CODE, file_key, index, number, sorted(glyphs))).encode()).hexdigest()
            found = earlier.segments.get(key) if earlier else None
            if found is not None:
                written[key] = earlier.copy(self.writer, found)
                continue
            face = hb.Face(hb.Blob.from_file_path(str(font_file(self.folder, file_key))), index)
            data = subset_font(face, glyphs)
            kind = b" /Subtype /OpenType" if data[:4] == b"OTTO" else b" /Length1 %d" % len(data)
            at = self.writer.file.tell()
            self.writer.begin_run()
            self.writer.stream(number, kind + b" /Filter /FlateDecode", zlib.compress(data, 6))
            written[key] = Segment(at, self.writer.file.tell(), ((number, 0),), 0, digest=self.writer.end_run())
        return written
