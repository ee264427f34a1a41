"""Episode files: front matter, dates, numbers, encodings, and clear errors."""
import datetime as dt

import pytest

from publisher.errors import SourceError
from publisher.sources import order_sources, parse_date, read_source

from conftest import write_post


def test_front_matter_and_number(tmp_path):
    p = write_post(tmp_path / "a.md", "产品故事#003_企业服务", "<p>正文</p>",
                   extra="headimg: 'https://cors.zfour.workers.dev/?http://img.test/a.jpg'\n")
    s = read_source(p)
    assert s.title == "产品故事#003_企业服务" and s.number == 3
    assert s.date == dt.datetime(2021, 8, 24, tzinfo=dt.timezone.utc)
    assert s.categories == ("测试",) and s.author == "测试作者"
    assert s.headimg.endswith("img.test/a.jpg") and "<p>正文</p>" in s.body
    assert s.body_line == 10 and not s.warnings


@pytest.mark.parametrize("value, expected", [
    ("Tue, 24 Aug 2021 00:00:00 GMT", dt.datetime(2021, 8, 24, tzinfo=dt.timezone.utc)),
    ("2021-08-24T08:00:00+08:00", dt.datetime(2021, 8, 24, tzinfo=dt.timezone.utc)),
    ("Invalid Date", None), ("", None), (dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, tzinfo=dt.timezone.utc)),
])
def test_dates(value, expected):
    assert parse_date(value) == expected


def test_lenient_cases_warn(tmp_path):
    p = tmp_path / "x.md"
    p.write_bytes("\ufeff\n---\ndate: Invalid Date\n---\n\n<div></div>\n".encode("utf-8"))
    s = read_source(p)
    messages = " ".join(w.message for w in s.warnings)
    assert s.title == "x" and "no title" in messages and "date" in messages and "empty body" in messages


def test_gb18030_is_decoded_with_a_warning(tmp_path):
    p = tmp_path / "gbk.md"
    p.write_bytes("\n---\ntitle: '国标编码'\ndate: Tue, 24 Aug 2021 00:00:00 GMT\n---\n\n<div><p>简体中文正文</p></div>\n".encode("gb18030"))
    s = read_source(p)
    assert s.title == "国标编码" and "简体中文正文" in s.body
    assert any("GB18030" in w.message for w in s.warnings)


@pytest.mark.parametrize("content, message, line", [
    ("<div><p>没有头信息</p></div>\n", "no front matter", 1),
    ("\n---\ntitle: '坏引号\ndate: x\n---\n\n<div></div>\n", "not valid YAML", None),
    ("\n---\ntitle: '未结束'\n\n<div></div>\n", "not terminated", 2),
    ("\n---\n- a\n- b\n---\n<div></div>\n", "must be a YAML mapping", 3),
])
def test_unreadable_episodes_name_file_and_line(tmp_path, content, message, line):
    p = tmp_path / "bad.md"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_source(p)
    assert message in str(err.value) and "bad.md" in str(err.value)
    if line:
        assert f"bad.md:{line}:" in str(err.value)


def test_yaml_error_line_points_into_the_file(tmp_path):
    p = tmp_path / "bad.md"
    p.write_text("\n---\ntitle: ok\ncategories: [a, b\ndate: x\n---\n<div></div>\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_source(p)
    assert err.value.where.line in (4, 5, 6)


def test_binary_file_is_refused(tmp_path):
    p = tmp_path / "bin.md"
    p.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(SourceError, match="binary"):
        read_source(p)


def test_order_by_number_then_date(tmp_path):
    a = read_source(write_post(tmp_path / "a.md", "系列#010_后", "<p>x</p>"))
    b = read_source(write_post(tmp_path / "b.md", "系列#002_前", "<p>x</p>"))
    c = read_source(write_post(tmp_path / "c.md", "无编号", "<p>x</p>", date="Mon, 01 Jan 2018 00:00:00 GMT"))
    assert [s.path.name for s in order_sources([a, b, c], "number")] == ["b.md", "a.md", "c.md"]
    assert [s.path.name for s in order_sources([a, b, c], "date")] == ["c.md", "a.md", "b.md"]
    assert [s.path.name for s in order_sources([a, b, c], "listed")] == ["a.md", "b.md", "c.md"]
