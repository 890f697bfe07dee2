"""SPEC 15 end to end: summary modes and width, save line, history, HTML, pytest-html, GitHub."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path
from typing import Any

import pytest

PROFILE = "--greenbudget-profile=p"

TESTS = """
import pytest
from fakemeter import spend


@pytest.mark.energy_budget("10 J")
def test_over():
    spend(12.4)


@pytest.mark.energy_budget("20 J")
@pytest.mark.parametrize("case", ["a-rather-long-parameter-id-number-one", "two"])
def test_a_test_function_with_quite_a_long_name_to_see_how_it_is_shortened(case):
    spend(3.0)
"""

MANY = """
import pytest
from fakemeter import spend


@pytest.mark.parametrize("i", range(55))
def test_many(i):
    spend(1.0 + i)


@pytest.mark.energy_budget("1 J")
def test_over():
    spend(2.0)
"""


def project(gb: Any, tests: str = TESTS, toml: str = "") -> None:
    (gb.path / "tests").mkdir(exist_ok=True)
    (gb.path / "tests" / "test_deep_folder_name_for_ids.py").write_text(tests, encoding="utf-8")
    (gb.path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n\n[tool.greenbudget]\n" + toml, encoding="utf-8"
    )


def section(result: pytest.RunResult) -> list[str]:
    """The energy summary section's lines (the separator line itself left out)."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if re.match(r"^=+ energy summary", line))
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^[=_-]{3,} ", lines[i])),
        len(lines),
    )
    return lines[start + 1 : end]


def test_the_summary_fits_80_columns(gb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    project(gb)
    monkeypatch.setenv("COLUMNS", "80")
    result = gb.run_sub(PROFILE)
    lines = section(result)
    assert len(lines) > 4
    too_long = [line for line in lines if len(line) > 80]
    assert not too_long, "\n".join(lines)
    rows = [line for line in lines if "test_a_test_function" in line or "…" in line]
    assert any(line.startswith("…") and "[two]" in line for line in rows), "\n".join(lines)
    # every row still has its status
    assert sum(" ok" in line or "over_budget" in line for line in lines) >= 3


def test_summary_changes_and_none(gb: Any) -> None:
    project(gb)
    result = gb.run(PROFILE, "--greenbudget-summary=changes")
    text = "\n".join(section(result))
    assert "test_over" in text and "[two]" not in text
    assert "energy: 3 entries: 1 over_budget, 2 ok; 2 rows not shown" in text

    result = gb.run(PROFILE, "--greenbudget-summary=none")
    lines = [line for line in section(result) if line]
    assert len(lines) == 1 and lines[0].startswith("energy: 3 entries: 1 over_budget, 2 ok")


def test_summary_key_and_the_option_overrides_it(gb: Any) -> None:
    project(gb, toml='summary = "none"\n')
    lines = [line for line in section(gb.run(PROFILE)) if line]
    assert len(lines) == 1
    text = "\n".join(section(gb.run(PROFILE, "--greenbudget-summary=all")))
    assert "[two]" in text


@pytest.mark.parametrize(
    ("toml", "args", "expected"),
    [
        ('summary = "some"\n', (), "[tool.greenbudget] summary: expected 'all', 'changes' or "
         "'none', got 'some'"),
        ('summry = "all"\n', (), "summry: unknown key; did you mean 'summary'?"),
        ("history = 3\n", (), "[tool.greenbudget] history: expected a non-empty string, got 3"),
        ("", ("--greenbudget-summary=every",), "--greenbudget-summary: expected 'all', "
         "'changes' or 'none', got 'every'"),
    ],
)
def test_bad_summary_or_history_is_a_usage_error(
    gb: Any, assert_no_crash: Any, toml: str, args: tuple[str, ...], expected: str
) -> None:
    project(gb, toml=toml)
    result = gb.run(PROFILE, *args)
    assert result.ret == 4
    assert expected in result.stderr.str()
    assert_no_crash(result)


def test_more_than_50_entries_show_only_changes_by_default(gb: Any) -> None:
    project(gb, MANY, toml="measure_all = true\n")
    text = "\n".join(section(gb.run(PROFILE)))
    assert "test_over" in text and "test_many[" not in text
    assert "56 entries: 1 over_budget, 55 new; 55 rows not shown" in text
    assert "--greenbudget-summary=all" in text
    assert text.count("test_many[") == 0
    text = "\n".join(section(gb.run(PROFILE, "--greenbudget-summary=all")))
    assert text.count("test_many[") == 55


def test_save_says_what_it_wrote(gb: Any) -> None:
    project(gb)
    text = "\n".join(section(gb.run(PROFILE, "--greenbudget-save")))
    assert "baseline: saved 2 entries to .greenbudget/baseline.json (profile p)" in text


def test_markdown_honours_summary(gb: Any) -> None:
    project(gb)
    gb.run(PROFILE, "--greenbudget-summary=changes", "--greenbudget-markdown=e.md")
    md = (gb.path / "e.md").read_text(encoding="utf-8")
    assert "test_over" in md and "[two]" not in md and "2 rows not shown" in md


def test_history_keeps_every_run_with_its_run_object(gb: Any) -> None:
    project(gb, toml='history = "energy-history"\n')
    gb.run(PROFILE)
    gb.run(PROFILE, "--greenbudget-json=r.json")
    files = sorted((gb.path / "energy-history").iterdir())
    assert len(files) == 2
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z-p\.json", f.name) for f in files), files
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert docs[0]["run"]["started"] < docs[1]["run"]["started"]
    run = docs[1]["run"]
    assert set(run) == {"started", "commit", "branch", "dirty", "profile"}
    assert run["profile"] == "p" and run["started"].endswith("Z")
    assert json.loads((gb.path / "r.json").read_text(encoding="utf-8"))["run"] == run
    assert files[1].name.startswith(
        run["started"].replace("-", "").replace(":", "")[:15]
    )
    # the option overrides the key
    gb.run(PROFILE, "--greenbudget-history=elsewhere")
    assert len(list((gb.path / "elsewhere").iterdir())) == 1
    assert len(list((gb.path / "energy-history").iterdir())) == 2


def test_greenbudget_html_draws_this_run_and_the_history(gb: Any) -> None:
    project(gb)
    gb.run(PROFILE, "--greenbudget-history=h")
    result = gb.run(PROFILE, "--greenbudget-history=h", "--greenbudget-html=out/e.html")
    assert "HTML report: " in "\n".join(section(result))
    page = (gb.path / "out" / "e.html").read_text(encoding="utf-8")
    assert "2 runs read" in page  # this run once, not again from the history folder
    assert page.count('class="chart"') == 3 and 'class="bar over"' in page
    result = gb.run(PROFILE, "--greenbudget-html=only.html")
    assert "1 run read" in (gb.path / "only.html").read_text(encoding="utf-8")


def test_greenbudget_html_without_pygal_is_a_warning(gb: Any, assert_no_crash: Any) -> None:
    project(gb)
    gb.pytester.makeconftest("import sys\nsys.modules['pygal'] = None\n")
    result = gb.run(PROFILE, "--greenbudget-html=e.html")
    assert_no_crash(result)
    assert result.ret == 1  # test_over fails for energy; the missing extra does not matter
    assert "pip install 'pytest-greenbudget[html]'" in result.stdout.str()
    assert not (gb.path / "e.html").exists()


def _pytest_html_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', text)
    assert blob, text[:2000]
    data = json.loads(htmllib.unescape(blob.group(1)))
    return [row for rows in data["tests"].values() for row in rows]


@pytest.mark.parametrize("xdist", [False, True])
def test_pytest_html_gets_energy_columns(gb: Any, xdist: bool) -> None:
    pytest.importorskip("pytest_html")
    project(gb)
    (gb.path / "tests" / "test_plain.py").write_text("def test_plain():\n    pass\n")
    args = [PROFILE, "--html=report.html", "--self-contained-html"]
    if xdist:
        args += ["-n", "2"]
    result = gb.run_sub(*args)
    assert result.ret == 1
    text = (gb.path / "report.html").read_text(encoding="utf-8")
    for header in ("Energy", "Budget", "Energy status"):
        assert f">{header}</th>" in htmllib.unescape(text)
    rows = {
        re.sub(r"<[^>]+>", "", row["resultsTableRow"][1]): row["resultsTableRow"]
        for row in _pytest_html_rows(gb.path / "report.html")
    }
    over = rows["tests/test_deep_folder_name_for_ids.py::test_over"]
    assert any("12.4 J" in cell for cell in over)
    assert any("10 J (124 %)" in cell for cell in over)
    assert any(">over_budget<" in cell for cell in over)
    plain = rows["tests/test_plain.py::test_plain"]
    assert len(plain) == len(over)  # unmeasured tests get empty cells, the table stays square


GITHUB_TESTS = """
import pytest
from fakemeter import spend


@pytest.mark.energy_budget("1 J")
def test_over():
    spend(2.0)
"""


def test_annotations_are_relative_to_the_workspace(
    gb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = gb.path / "python" / "pkg"
    (sub / "tests").mkdir(parents=True)
    (sub / "tests" / "test_ci.py").write_text(GITHUB_TESTS, encoding="utf-8")
    (sub / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(gb.path))
    result = gb.run_sub(PROFILE, f"--rootdir={sub}", str(sub / "tests"))
    lines = [line for line in result.stdout.lines if line.startswith("::error")]
    assert lines and "file=python/pkg/tests/test_ci.py,line=7" in lines[0], lines

    monkeypatch.delenv("GITHUB_WORKSPACE")
    result = gb.run_sub(PROFILE, f"--rootdir={sub}", str(sub / "tests"))
    lines = [line for line in result.stdout.lines if line.startswith("::error")]
    assert lines and "file=tests/test_ci.py,line=7" in lines[0], lines


def test_pytest_html_columns_only_when_it_writes_a_report(gb: Any) -> None:
    pytest.importorskip("pytest_html")
    project(gb)
    gb.pytester.makeconftest(
        "def pytest_sessionfinish(session):\n"
        "    found = session.config.pluginmanager.has_plugin('greenbudget-html-columns')\n"
        "    open('columns.txt', 'w').write(str(found))\n"
    )
    gb.run(PROFILE)
    assert (gb.path / "columns.txt").read_text() == "False"
    gb.run(PROFILE, "--html=r.html")
    assert (gb.path / "columns.txt").read_text() == "True"
