"""An ordinary install works: the wheel carries the default theme and every subpackage, and an
installed copy builds the sample series from another folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from setuptools import find_packages

from conftest import ROOT, SAMPLE


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject.toml lists the packages by hand (the themes are mapped in); a new subpackage
    left out of the list would be missing from every install but the editable one."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert set(find_packages(str(ROOT), include=["publisher", "publisher.*"])) <= listed


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version
    exe = Path(sys.executable).parent / "publisher"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout
    assert out.strip().endswith(version("publisher"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    return next(folder.glob("publisher-*.whl"))


def test_the_wheel_carries_the_default_theme(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    theme = ROOT / "themes" / "default"
    expected = {f"publisher/builtin_themes/default/{p.relative_to(theme).as_posix()}"
                for p in theme.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert expected and expected <= names


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_builds_the_sample_elsewhere(wheel, tmp_path):
    venv = tmp_path / "venv"
    # the project's own dependencies come from this environment; the package itself only from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(here) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(SAMPLE, elsewhere / "stories")
    env = dict(os.environ, PUBLISHER_CACHE=str(tmp_path / "cache"))
    code = ("import sys, publisher.cli, publisher.themes; "
            "assert 'site-packages' in publisher.themes.BUILTIN.as_posix(), publisher.themes.BUILTIN; "
            "publisher.cli.main(sys.argv[1:], prog_name='publisher')")
    run = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", code, "build", "stories", "-f", "epub", "-f", "pdf",
                          "-o", "out", "--offline"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-600:]
    built = sorted(p.suffix for p in (elsewhere / "out").glob("*.*") if p.suffix in (".epub", ".pdf") and p.stat().st_size)
    assert built == [".epub", ".pdf"], run.stdout
