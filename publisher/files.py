"""Writing files so that a build killed at any moment leaves complete files only.

Every output and every cache entry goes through `atomic_path`/`atomic_write`: a temporary file
in the destination's folder (same file system), renamed into place when complete (os.replace
is atomic on POSIX), removed when the write fails.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path):
    """A temporary path in `path`'s folder to write to; renamed onto `path` when the block
    succeeds, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
