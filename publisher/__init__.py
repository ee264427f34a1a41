"""publisher: a series of Hexo-style web articles in; an EPUB, a PDF book and handouts out."""

__version__ = "0.1.0"
