"""A theme name -> its Jinja2 environment and stylesheets, found along an ordered path.

A theme is a folder with `templates/` and `css/`. Lookup order: the series' own
`themes/<name>/`, the built-in `themes/<name>/`, then the built-in `themes/default/`, so a
theme only needs to hold what it changes. The built-in themes ship inside the package
(`publisher.builtin_themes`, mapped from the top-level themes/ folder by pyproject.toml).
Templates autoescape: post text is data, never code.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import jinja2

from .errors import PublisherError

# an installed wheel is unpacked on disk, so the package's folder is a real path Jinja2 can read
BUILTIN = Path(str(files("publisher.builtin_themes")))


@dataclass(frozen=True)
class Theme:
    name: str
    folders: tuple[Path, ...]  # most specific first
    env: jinja2.Environment

    def css(self, name: str) -> str:
        return self.path("css", name).read_text(encoding="utf-8")

    def path(self, kind: str, name: str) -> Path:
        for folder in self.folders:
            if (folder / kind / name).is_file():
                return folder / kind / name
        raise PublisherError(f"theme '{self.name}' has no {kind}/{name}")

    def text(self, words: str) -> str:
        """Words the backends write themselves (目录, 版权信息 in bookmarks and the nav), as
        this theme shows them; an edition's theme (editions.py) converts them."""
        return words

    def render(self, template: str, **context) -> str:
        return self.env.get_template(template).render(**context)


def load_theme(name: str, series_root: Path | None = None) -> Theme:
    candidates = []
    if series_root is not None:
        candidates.append(series_root / "themes" / name)
    candidates += [BUILTIN / name, BUILTIN / "default"]
    folders = tuple(dict.fromkeys(c.resolve() for c in candidates if c.is_dir()))
    if name != "default" and not any(f.name == name for f in folders):
        raise PublisherError(f"theme '{name}' not found (looked in {', '.join(str(c) for c in candidates[:-1])})")
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f / "templates")) for f in folders])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    from .render.autospace import mark_text
    from .render.typeset import typeset_inline
    env.filters["typeset"] = typeset_inline  # titles the PDF templates set, treated like the body
    env.filters["autospace"] = mark_text  # plain strings (attributes): Chinese-Latin spacing only
    return Theme(name, folders, env)
