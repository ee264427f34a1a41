"""Chapter bodies carry typed image references: each placed image's asset, alt and width, and a
visible note for each image that could not be had (book._place_images)."""
from pathlib import Path

from lxml import etree

from publisher.book import ImageRef, build_book
from publisher.images import LocalImage, Localized
from publisher.manifest import Manifest
from publisher.normalize import normalize
from publisher.sources import SourceEpisode

GOOD, MISSING = "https://img.example.test/good.png", "https://img.example.test/gone.png"
SHA = "ab" * 32


def chapter_of(body: str):
    source = SourceEpisode(path=Path("post.md"), title="图片", body=f"<div>{body}</div>")
    episode = normalize(source, "e1", (), "zh-CN")
    localized = Localized(images={GOOD: LocalImage(GOOD, SHA, "image/png", 1200, 800, "cached")},
                          failed={MISSING: "HTTP 404 (not found)"})
    manifest = Manifest(path=Path("series.toml"), title="书", episodes=(Path("post.md"),))
    import datetime as dt
    return build_book(manifest, [episode], localized, dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).chapters[0]


def test_placed_images_are_typed_references():
    chapter = chapter_of(f'<p>前文。</p><figure><img src="{GOOD}" alt="好图" width="300"><figcaption>说明</figcaption></figure>'
                         f'<p>文中<img src="{GOOD}" alt="再用">一次。</p>')
    assert chapter.images == (ImageRef(SHA[:16], "好图", 300), ImageRef(SHA[:16], "再用", None))
    assert chapter.asset_keys == (SHA[:16],)
    assert chapter.body.count(f'src="asset:{SHA[:16]}"') == 2
    assert chapter.body_with(lambda key: f"images/{key}.png").count(f'src="images/{SHA[:16]}.png"') == 2


def test_missing_images_become_visible_notes_and_keep_the_rest():
    chapter = chapter_of(f'<figure><img src="{GOOD}" alt="甲"><img src="{MISSING}" alt="乙"><figcaption>两张图</figcaption></figure>'
                         f'<figure><img src="{MISSING}" alt="丙"><figcaption>一张图</figcaption></figure><p>结束。</p>')
    root = etree.fromstring(f"<div>{chapter.body}</div>")
    notes = root.findall(".//figure[@class='image-missing']")
    assert len(notes) == 2 and all(n.findtext("p[@class='image-missing-url']") == MISSING for n in notes)
    assert notes[1].findtext("figcaption") == "一张图"  # a lone image's caption stays with its note
    kept = [f for f in root.iter("figure") if f.get("class") != "image-missing"]
    assert len(kept) == 1 and kept[0].find("img").get("src") == f"asset:{SHA[:16]}"
    assert root.findtext("p[@class='caption']") == "两张图"
    assert [r.alt for r in chapter.images] == ["甲"]
    assert "gone.png" not in "".join(i.get("src") for i in root.iter("img"))
