"""publisher: a series of Hexo-style web articles in; an EPUB, a PDF book and handouts out."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("publisher")  # from the installed package's metadata (pyproject.toml)
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
