"""The book's navigation, once its pages have object numbers: bookmarks (the outline) and the
目录's link annotations, which point into other parts (ISO 32000-1 §12.3.3, §12.5.6.5)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pikepdf

if TYPE_CHECKING:
    from .parts import RenderedPart

PX = 0.75  # points per CSS px


def destination(number: int, y_px: float, height_px: float) -> bytes:
    return b"[%d 0 R /XYZ null %.2f null]" % (number, (height_px - y_px) * PX)


def toc_links(writer, front: RenderedPart, where: dict, height: float, targets: dict) -> dict[int, list[int]]:
    """The 目录 points at anchors in other parts (`targets`: its link names -> those anchors):
    its link annotations are made here."""
    links: dict[int, list[int]] = {}
    for page_index, name, (x0, y0, x1, y1) in front.links:
        anchor = targets.get(name, name)
        if anchor not in where:
            continue
        target, y = where[anchor]
        number = writer.reserve()
        writer.object(number, b"<< /Type /Annot /Subtype /Link /Border [0 0 0] /Rect [%.2f %.2f %.2f %.2f] /Dest %s >>" % (
            x0 * PX, (height - y1) * PX, x1 * PX, (height - y0) * PX, destination(target, y, height)))
        links.setdefault(page_index, []).append(number)
    return links


def outline(writer, front, episodes, starts, front_count, numbers, chapters, front_marks, height) -> int:
    """Bookmarks: the colophon and 目录, then each episode with its sections (ISO 32000 §12.3.3)."""
    def node(title, page, y, children=()):
        return {"title": title, "dest": destination(numbers[page], y, height), "children": list(children)}

    items = [node(title, *front.anchors[anchor][::2]) for anchor, title in front_marks.items() if anchor in front.anchors]
    for chapter, part, start in zip(chapters, episodes, starts):
        def entry(title, anchor, children=()):
            page, _, y = part.anchors.get(anchor, (0, 0, 0))
            return node(title, front_count + start + page, y, [entry(c.title, c.id, c.children) for c in children])
        items.append(entry(chapter.title, chapter.key, chapter.toc))
    root = writer.reserve()
    first, last, count = _outline_items(writer, items, root)
    writer.object(root, b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (first, last, count)
                  if items else b"<< /Type /Outlines /Count 0 >>")
    return root


def _outline_items(writer, items: list[dict], parent: int) -> tuple[int, int, int]:
    numbers = [writer.reserve() for _ in items]
    total = len(items)
    for i, (item, number) in enumerate(zip(items, numbers)):
        fields = [b"/Title " + pikepdf.String(item["title"]).unparse(), b"/Parent %d 0 R" % parent,
                  b"/Dest " + item["dest"]]
        if i:
            fields.append(b"/Prev %d 0 R" % numbers[i - 1])
        if i + 1 < len(items):
            fields.append(b"/Next %d 0 R" % numbers[i + 1])
        if item["children"]:
            first, last, count = _outline_items(writer, item["children"], number)
            fields += [b"/First %d 0 R" % first, b"/Last %d 0 R" % last, b"/Count %d" % -count]
        writer.object(number, b"<< " + b" ".join(fields) + b" >>")
    return (numbers[0] if numbers else 0), (numbers[-1] if numbers else 0), total

