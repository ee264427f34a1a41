"""The built-in themes, shipped inside the package as `publisher.builtin_themes`.

pyproject.toml maps this top-level folder into the package (setuptools `package-dir`), so the
themes stay where the project's layout puts them and a wheel still carries them;
`publisher.themes` finds them with importlib.resources.
"""
