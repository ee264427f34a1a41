"""Objects read with pikepdf -> a PDF file written part by part, in bounded memory.

Why by hand: qpdf (under pikepdf) holds every copied page's objects in memory until it saves;
a 1,100-page book took it 300 MB. Here each part's PDF is opened, its objects are written out
with new numbers and raw (still compressed) stream data, and it is closed before the next; only
object offsets and page numbers stay in memory. Syntax per ISO 32000-1 §7.3 (objects), §7.5
(file structure: header, body, cross-reference table, trailer).
"""
from __future__ import annotations

import decimal
import hashlib
import os
import re
import zlib
from collections import deque
from typing import Callable

import pikepdf
from pikepdf import Name


# In qpdf's unparse output a reference is "N G R"; literal strings (parentheses escaped by qpdf)
# are matched first so that text such as "(1 0 R)" is left alone; hex strings hold no "R".
REFERENCE = re.compile(rb"(\((?:\\.|[^\\)])*\))|(\d+) (\d+) R\b")
SLOW = re.compile(rb"/StructParent |/Type /FontDescriptor")


class PdfWriter:
    def __init__(self, path, version: bytes = b"1.7"):
        self.file = open(path, "wb")
        self.offsets: dict[int, int] = {}
        self.next_number = 1
        self.digest = hashlib.md5()
        self.runs: list[bytes] = []  # the digests of runs of bytes digested on their own, in order
        self._outer = None
        self._write(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.digest.update(data)

    def begin_run(self) -> None:
        """Digest what is written from here to `end_run` on its own: a run an assembler may
        copy from an earlier file next time (`copy_run`), giving its digest rather than reading it."""
        self._outer, self.digest = self.digest, hashlib.md5()

    def end_run(self) -> str:
        digest, self.digest = self.digest.digest(), self._outer
        self.runs.append(digest)
        return digest.hex()

    def copy_run(self, source, start: int, length: int, digest: str) -> None:
        """`length` bytes of the open file `source` from `start`, a run written and digested
        before, copied by the kernel where it can (copy_file_range) without passing through here."""
        self.file.flush()
        done = 0
        try:
            while done < length:
                copied = os.copy_file_range(source.fileno(), self.file.fileno(), length - done, start + done)
                if not copied:
                    raise OSError("copy_file_range copied nothing")
                done += copied
        except (OSError, AttributeError):  # another file system, or no copy_file_range: through memory
            self.file.seek(0, os.SEEK_END)
            source.seek(start + done)
            self.file.write(source.read(length - done))
        self.file.seek(0, os.SEEK_END)
        self.runs.append(bytes.fromhex(digest))

    def reserve(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def object(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.file.tell()
        self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def stream(self, number: int, dictionary: bytes, data: bytes) -> None:
        """`dictionary` is the body of a << >> without /Length."""
        self.offsets[number] = self.file.tell()
        self._write(b"%d 0 obj\n<<%s /Length %d>>\nstream\n" % (number, dictionary, len(data)))
        self._write(data)
        self._write(b"\nendstream\nendobj\n")

    def new_stream(self, dictionary: bytes, data: bytes, compress: bool = True) -> int:
        number = self.reserve()
        if compress:
            data = zlib.compress(data, 6)
            dictionary += b" /Filter /FlateDecode"
        self.stream(number, dictionary, data)
        return number

    def finish(self, root: int, info: int | None) -> None:
        start = self.file.tell()
        count = self.next_number
        # numbers never used (an episode's run has room to spare: segments.NUMBER_RUN) are free
        # entries, linked from object 0 in order, the last back to 0 (ISO 32000-1 §7.5.4)
        free = [number for number in range(1, count) if number not in self.offsets]
        following = dict(zip(free, free[1:] + [0]))
        lines = [b"xref\n0 %d\n" % count, b"%010d 65535 f \n" % (free[0] if free else 0)]
        for number in range(1, count):
            offset = self.offsets.get(number)
            lines.append(b"%010d 00000 n \n" % offset if offset is not None else b"%010d 00000 f \n" % following[number])
        identifier = hashlib.md5(self.digest.digest() + b"".join(self.runs)).hexdigest().encode()
        info_entry = b" /Info %d 0 R" % info if info else b""
        trailer = b"trailer\n<< /Size %d /Root %d 0 R%s /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
            count, root, info_entry, identifier, identifier, start)
        self.file.write(b"".join(lines) + trailer)
        self.file.close()


def serialize(obj, ref: Callable, dict_hook: Callable | None = None) -> bytes:
    """PDF syntax for a pikepdf object; indirect objects become references through `ref`.
    `dict_hook(dict) -> {key: bytes}` may replace entries of a dictionary."""
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return b"%d 0 R" % ref(obj)
    return _direct(obj, ref, dict_hook)


def _direct(obj, ref, dict_hook) -> bytes:
    if obj is None:
        return b"null"
    if isinstance(obj, bool):
        return b"true" if obj else b"false"
    if isinstance(obj, int):
        return b"%d" % obj
    if isinstance(obj, (float, decimal.Decimal)):
        return _real(obj)
    if isinstance(obj, pikepdf.Dictionary) or isinstance(obj, pikepdf.Stream):
        return b"<<" + _entries(obj if isinstance(obj, pikepdf.Dictionary) else obj.stream_dict, ref, dict_hook) + b">>"
    if isinstance(obj, pikepdf.Array):
        return b"[" + b" ".join(serialize(item, ref, dict_hook) for item in obj) + b"]"
    if isinstance(obj, (pikepdf.Name, pikepdf.String)):
        return obj.unparse()
    if isinstance(obj, pikepdf.Object):  # numbers, booleans and null not converted by pikepdf
        return obj.unparse()
    raise TypeError(f"cannot write {type(obj).__name__} into a PDF")


def _real(value) -> bytes:
    text = format(decimal.Decimal(str(value)).normalize(), "f")
    return text.encode()


def _entries(dictionary, ref, dict_hook, skip=()) -> bytes:
    replaced = dict_hook(dictionary) if dict_hook else {}
    parts = []
    for key in sorted(dictionary.keys()):  # sorted: pikepdf does not keep one order
        if key in skip or key in replaced:
            continue
        parts.append(Name(key).unparse() + b" " + serialize(dictionary[key], ref, dict_hook))
    for key, value in replaced.items():
        if value is not None:
            parts.append(Name(key).unparse() + b" " + value)
    return b" " + b" ".join(parts) if parts else b""


class PartCopier:
    """Writes the objects of one source PDF that the given roots reach, each once."""

    def __init__(self, writer: PdfWriter, source: pikepdf.Pdf, preassigned: dict | None = None,
                 dict_hook: Callable | None = None):
        self.writer = writer
        self.numbers: dict[tuple[int, int], int] = dict(preassigned or {})
        self.queue: deque = deque()
        self.queued: set = set()
        self.hook = dict_hook
        self.source = source

    def ref(self, obj) -> int:
        key = obj.objgen
        if key not in self.numbers:
            self.numbers[key] = self.writer.reserve()
        if key not in self.queued:
            self.queued.add(key)
            self.queue.append(obj)
        return self.numbers[key]

    def serialize(self, obj) -> bytes:
        """PDF syntax for an object of this source, its references renumbered (fast path as
        in `drain` for containers without hooked entries)."""
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            return b"%d 0 R" % self.ref(obj)
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array)):
            text = obj.unparse()
            if not SLOW.search(text):
                return REFERENCE.sub(self.ref_objgen, text)
        return serialize(obj, self.ref, self.hook)

    def ref_objgen(self, match: re.Match) -> bytes:
        if match[1] is not None:
            return match[1]
        key = (int(match[2]), int(match[3]))
        if key in self.queued:  # numbered already: no need to fetch the object from qpdf
            return b"%d 0 R" % self.numbers[key]
        return b"%d 0 R" % self.ref(self.source.get_object(key))

    def drain(self) -> None:
        """Write every queued object, and what they reach."""
        while self.queue:
            obj = self.queue.popleft()
            number = self.numbers[obj.objgen]
            if isinstance(obj, pikepdf.Stream):
                body = _entries(obj.stream_dict, self.ref, self.hook, skip=("/Length",))
                self.writer.stream(number, body, obj.read_raw_bytes())
                continue
            # Fast path: qpdf writes the object, we renumber its references. Objects with
            # entries the hook rewrites take the slow one.
            text = obj.unparse(resolved=True)
            if SLOW.search(text):
                self.writer.object(number, serialize_direct(obj, self.ref, self.hook))
            else:
                self.writer.object(number, REFERENCE.sub(self.ref_objgen, text))


def serialize_direct(obj, ref, hook) -> bytes:
    return _direct(obj, ref, hook)
