"""An episode's text -> its language tag: Simplified or Traditional Chinese, Japanese, English.

A series is written in one language (the manifest's), but feeds mix: a Taiwanese news post in a
Simplified series, a Japanese toot. Readers and PDF fonts follow `lang` (Noto CJK picks SC, TC
or JP glyph shapes from it; screen readers pick a voice), so each episode gets its own.

How: kana mark Japanese; Latin letters far outnumbering CJK characters mark English; among
Chinese texts, OpenCC tells the scripts apart (characters its t2s table changes exist only in
Traditional text, those its s2t table changes only in Simplified text).
"""
from __future__ import annotations

import re
from functools import lru_cache

KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
TRADITIONAL_TAGS = re.compile(r"zh-(hant|tw|hk|mo)\b", re.I)
SIMPLIFIED_TAGS = re.compile(r"zh(-(hans|cn|sg|my)\b|$)", re.I)
MIN_SIGNAL = 5  # characters: below this the text says too little to overrule the series' language


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc  # the C++ OpenCC; loaded once per process
    return opencc.OpenCC(config)


def _changed(text: str, config: str) -> int:
    """How many characters OpenCC's `config` conversion changes in `text`."""
    converted = _converter(config).convert(text)
    if len(converted) != len(text):  # a phrase mapped to one of another length: compare as sets
        return len(set(text) - set(converted))
    return sum(a != b for a, b in zip(text, converted))


def detect_language(text: str, default: str) -> str:
    """The language tag for `text` (an episode's title and body text, code left out), given the
    series' `default` tag: kept when the text agrees with it, else zh-TW, zh-CN, ja or en."""
    kana, han, latin = len(KANA.findall(text)), HAN.findall(text), len(LATIN.findall(text))
    if kana >= MIN_SIGNAL and kana * 10 >= len(han):
        return default if default.lower().startswith("ja") else "ja"
    if len(han) * 5 < latin and len(han) < 50:  # a CJK character carries about a word: 5 letters
        return default if default.lower().startswith("en") else "en"
    if len(han) < MIN_SIGNAL:
        return default
    han_text = "".join(han)
    traditional, simplified = _changed(han_text, "t2s"), _changed(han_text, "s2t")
    if traditional >= MIN_SIGNAL and traditional > 2 * simplified:
        return default if TRADITIONAL_TAGS.match(default) else "zh-TW"
    if simplified >= MIN_SIGNAL and simplified > 2 * traditional:
        return default if SIMPLIFIED_TAGS.match(default) else "zh-CN"
    return default
