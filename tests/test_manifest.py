"""series.toml: validated as a whole, every problem with its file and line."""
import pytest

from publisher.errors import ManifestError
from publisher.manifest import TRIMS, load_manifest

from conftest import write_post


def manifest_at(tmp_path, text: str, posts=("episodes/a.md",)):
    for post in posts:
        write_post(tmp_path / post, "一篇", "<p>正文。</p>")
    (tmp_path / "series.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_defaults_and_values(tmp_path):
    m = load_manifest(manifest_at(tmp_path, 'title = "产品故事"\nepisodes = ["episodes/*.md"]\n'
                                            '[pdf]\ntrim = "16K"\nbleed = "5mm"\n[epub]\ntoc-depth = 3\n'))
    assert m.title == "产品故事" and m.language == "zh-CN" and m.order == "number"
    assert m.pdf.trim == TRIMS["16K"] and m.pdf.bleed == 5.0 and m.epub.toc_depth == 3
    assert m.images.unwrap == ("https://cors.zfour.workers.dev/?",)
    assert [p.name for p in m.episodes] == ["a.md"]
    assert m.identifier.startswith("urn:uuid:")
    assert load_manifest(tmp_path).identifier == m.identifier  # stable across builds


def test_custom_trim(tmp_path):
    m = load_manifest(manifest_at(tmp_path, 'title = "t"\nepisodes = ["episodes/*.md"]\n[pdf]\ntrim = "170mm 240mm"\n'))
    assert m.pdf.trim == (170.0, 240.0)


def test_every_problem_reported_at_once_with_lines(tmp_path):
    text = ('episodes = ["episodes/*.md", "posts/*.md"]\nlanguge = "zh-CN"\norder = "random"\n'
            '[epub]\ntoc-depht = 2\n[pdf]\ntrim = "A9"\n')
    with pytest.raises(ManifestError) as err:
        load_manifest(manifest_at(tmp_path, text))
    problems = err.value.problems
    joined = "\n".join(problems)
    assert "missing required key 'title'" in joined
    assert "series.toml:2: unknown key 'languge'; did you mean 'language'?" in joined
    assert "series.toml:5: unknown key 'epub.toc-depht'; did you mean 'epub.toc-depth'?" in joined
    assert "series.toml:3:" in joined and "order must be" in joined
    assert "series.toml:7:" in joined and "pdf.trim" in joined
    assert "'posts/*.md' matches no file" in joined
    assert len(problems) == 6


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(ManifestError) as err:
        load_manifest(manifest_at(tmp_path, 'title = "t"\nepisodes = ["episodes/*.md"\nlanguage = "zh-CN"\n'))
    assert "series.toml:3" in str(err.value) and "TOML syntax error" in str(err.value)


def test_paths_outside_the_series_are_refused(tmp_path):
    (tmp_path / "outside.md").write_text("x")
    inner = tmp_path / "s"
    inner.mkdir()
    with pytest.raises(ManifestError) as err:
        load_manifest(manifest_at(inner, 'title = "t"\nepisodes = ["../*.md", "/etc/*"]\ncover = "../outside.md"\n'))
    assert str(err.value).count("outside the series folder") == 3


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError) as err:
        load_manifest(tmp_path)
    assert "series.toml" in str(err.value)


def test_wrong_types(tmp_path):
    with pytest.raises(ManifestError) as err:
        load_manifest(manifest_at(tmp_path, 'title = 3\nepisodes = "episodes/*.md"\n[images]\ntimeout = true\n'))
    joined = str(err.value)
    assert "'title' must be a string" in joined and "'episodes' must be a list" in joined
    assert "'images.timeout' must be seconds" in joined


def test_title_pattern_and_editions_reach_the_manifest(tmp_path):
    m = load_manifest(manifest_at(tmp_path, 'title = "周刊"\nepisodes = ["episodes/*.md"]\n'
                                            '[titles]\npattern = \'第(?P<number>\\d+)期：(?P<title>.+)\'\n'
                                            '[editions.zh-TW]\ntitle = "週刊"\nkeep = ["飞书"]\n'))
    assert m.titles.pattern.startswith("第(?P<number>")
    assert [(e.name, e.title, e.keep) for e in m.editions] == [("zh-TW", "週刊", ("飞书",))]


def test_a_title_pattern_without_a_title_group_is_reported_with_its_line(tmp_path):
    with pytest.raises(ManifestError) as err:
        load_manifest(manifest_at(tmp_path, 'title = "t"\nepisodes = ["episodes/*.md"]\n[titles]\npattern = "(?P<n>\\\\d+)"\n'))
    assert "series.toml:4" in str(err.value) and "(?P<title>" in str(err.value)
