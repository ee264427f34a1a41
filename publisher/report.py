"""What a build did -> OUTDIR/report.json: outputs, images, warnings and per-stage timings."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem
from .files import atomic_write


@dataclass
class Timings:
    """Seconds spent per stage, in the order the stages ran."""

    stages: dict = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] = round(self.stages.get(stage, 0) + time.perf_counter() - start, 3)


@dataclass(frozen=True)
class ImageFailure:
    url: str
    episode: str
    reason: str


@dataclass(frozen=True)
class Report:
    series: str
    outputs: tuple[Path, ...]
    fetched: int
    cached: int
    images_total: int
    failed: tuple[ImageFailure, ...]
    warnings: tuple[Problem, ...]
    timings: dict
    layouts: dict = field(default_factory=dict)  # format -> {"laid_out": n, "cached": m} PDF parts

    def as_dict(self) -> dict:
        return {
            "series": self.series,
            "outputs": [str(p) for p in self.outputs],
            "images": {"total": self.images_total, "fetched": self.fetched, "cached": self.cached,
                       "failed": [{"url": f.url, "episode": f.episode, "reason": f.reason} for f in self.failed]},
            "warnings": [w.as_dict() for w in self.warnings],
            "timings": self.timings,
            "layouts": self.layouts,
        }


def write_report(report: Report, outdir: Path) -> Path:
    path = outdir / "report.json"
    atomic_write(path, json.dumps(report.as_dict(), ensure_ascii=False, indent=2).encode("utf-8"))
    return path
