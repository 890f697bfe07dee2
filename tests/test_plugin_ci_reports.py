"""SPEC 8-9 through real pytest runs: the baseline in the JSON, terminal, JUnit and
Markdown reports, the GitHub job summary, and GitHub workflow-command annotations.

Energy is deterministic (``fakemeter`` of ``conftest.py``); each test's amount is read
at call time from ``work.json``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

SCHEMA = "greenbudget-baseline/1"
PROFILE = "--greenbudget-profile=p"
REGRESSION = "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance 10 %)"
OVER_BUDGET = "energy budget exceeded: used 12.4 J, budget 10 J (124 %)"

WORKLOAD = "from fakemeter import use  # noqa: F401\n"

REPORT_TESTS = """
import pytest
from workload import use


@pytest.mark.energy_budget
def test_regressed():
    use("regressed")


@pytest.mark.energy_budget("20 J")
def test_improved():
    use("improved")


@pytest.mark.energy_budget
def test_new():
    use("new")


def test_region_only(energy_meter):
    with energy_meter.measure("r"):
        use("region")
"""
REPORT_WORK = {"regressed": 12.4, "improved": 7.0, "new": 5.0, "region": 2.2}
REPORT_BASELINE = {
    "test_work.py::test_regressed": 9.8,
    "test_work.py::test_improved": 10,
    "test_work.py::test_region_only::r": 2.0,
    "test_work.py::test_gone": 1.0,
}


# --------------------------------------------------------------------------- helpers


def setup_project(gb: Any, files: dict[str, str], work: dict[str, float], toml: str = "") -> None:
    gb.pytester.makepyfile(workload=WORKLOAD, **files)
    (gb.path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n\n[tool.greenbudget]\n" + toml, encoding="utf-8"
    )
    (gb.path / "work.json").write_text(json.dumps(work), encoding="utf-8")


def write_baseline(gb: Any, entries: dict[str, float], profile: str = "p") -> bytes:
    path = gb.path / ".greenbudget" / "baseline.json"
    doc = {
        "schema": SCHEMA,
        "profiles": {
            profile: {
                "machine": {},
                "entries": {i: {"joules": j, "seconds": 0.5} for i, j in entries.items()},
            }
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True), encoding="utf-8")
    return path.read_bytes()


def report_project(gb: Any) -> None:
    setup_project(gb, {"test_work": REPORT_TESTS}, REPORT_WORK)
    write_baseline(gb, REPORT_BASELINE)


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def summary(result: pytest.RunResult) -> str:
    text = result.stdout.str()
    match = re.search(r"^=+ [^\n]*energy[^\n]* =+$", text, re.MULTILINE | re.IGNORECASE)
    assert match, text
    return text[match.end() :]


def md_row(cells: list[str]) -> str:
    r"""A regex for one Markdown table row with exactly these cells (regexes)."""
    return r"^\|" + r"\|".join(rf"\s*{c}\s*" for c in cells) + r"\|$"


def def_line(path: Path, name: str) -> int:
    """The 1-based line of ``def <name>(`` in ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith(f"def {name}(")]
    return index + 1


# --------------------------------------------------------------------------- JSON, terminal


def test_json_report_carries_baseline_joules(gb: Any, assert_no_crash: Any) -> None:
    report_project(gb)
    result, doc = gb.run_json(PROFILE, "-q")
    assert result.ret == 1
    assert_no_crash(result)
    assert doc["profile"] == "p"
    got = {
        e["id"]: (e["status"], e["outcome"], e["baseline_joules"], round(e["joules"], 9))
        for e in doc["entries"]
    }
    assert got == {
        "test_work.py::test_regressed": ("regressed", "failed", 9.8, 12.4),
        "test_work.py::test_improved": ("improved", "passed", 10.0, 7.0),
        "test_work.py::test_new": ("new", "passed", None, 5.0),
        "test_work.py::test_region_only::r": ("ok", "passed", 2.0, 2.2),
    }
    messages = {e["id"]: e["message"] for e in doc["entries"]}
    assert messages["test_work.py::test_regressed"] == REGRESSION
    assert messages["test_work.py::test_new"] is None
    assert messages["test_work.py::test_region_only::r"] is None
    assert doc["totals"]["joules"] == pytest.approx(12.4 + 7.0 + 5.0)  # regions not twice


def test_terminal_summary_shows_baseline_and_change_in_percent(gb: Any) -> None:
    report_project(gb)
    result = gb.run(PROFILE, "-q")
    assert result.ret == 1
    text = summary(result)
    co2 = r"\S+ \S*gCO2e"
    rows = {
        "test_work.py::test_regressed": rf"12\.4 J\s+-\s+9\.8 J \(\+27 %\)\s+{co2}\s+regressed",
        "test_work.py::test_improved": rf"7 J\s+20 J \(35 %\)\s+10 J \(-30 %\)\s+{co2}\s+improved",
        "test_work.py::test_new": rf"5 J\s+-\s+-\s+{co2}\s+new",
        "test_work.py::test_region_only::r": rf"2\.2 J\s+-\s+2 J \(\+10 %\)\s+{co2}\s+ok",
    }
    for entry_id, row in rows.items():
        assert re.search(rf"^{re.escape(entry_id)}\s+{row}$", text, re.MULTILINE), (entry_id, text)
    assert "--greenbudget-save" in text  # the improvement suggests re-saving
    assert re.search(r"^test_work\.py::test_regressed: " + re.escape(REGRESSION) + "$", text, re.M)


# --------------------------------------------------------------------------- JUnit


def test_junit_properties_include_the_baseline(gb: Any, assert_no_crash: Any) -> None:
    report_project(gb)
    xml = gb.path / "junit.xml"
    result = gb.run(PROFILE, "-q", f"--junitxml={xml}")
    assert result.ret == 1
    assert_no_crash(result)
    cases = {case.get("name"): case for case in ET.parse(xml).iter("testcase")}
    props = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")}
        for name, case in cases.items()
    }
    regressed = props["test_regressed"]
    assert float(regressed["energy_baseline_joules"]) == pytest.approx(9.8)
    assert float(regressed["energy_joules"]) == pytest.approx(12.4)
    assert regressed["energy_status"] == "regressed"
    assert "energy_budget" not in regressed
    failure = cases["test_regressed"].find("failure")
    assert failure is not None
    assert REGRESSION in (failure.get("message") or "") + (failure.text or "")

    improved = props["test_improved"]
    assert float(improved["energy_baseline_joules"]) == pytest.approx(10.0)
    assert improved["energy_status"] == "improved"
    assert "energy_budget" in improved
    assert cases["test_improved"].find("failure") is None

    new = props["test_new"]
    assert new["energy_status"] == "new"
    assert "energy_baseline_joules" not in new


# --------------------------------------------------------------------------- Markdown


def check_markdown(text: str) -> None:
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("|") and "status" in line]
    assert len(header) == 1, text
    for name in ("energy", "budget", "baseline", "CO2e"):
        assert name in header[0], text
    separator = lines[lines.index(header[0]) + 1]
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|){6}", separator), text
    co2 = r"\S+ \S*gCO2e"
    expected_rows = [
        ["test_work\\.py::test_regressed", r"12\.4 J", "-", r"9\.8 J \(\+27 %\)", co2, "regressed"],
        [
            "test_work\\.py::test_improved",
            "7 J",
            r"20 J \(35 %\)",
            r"10 J \(-30 %\)",
            co2,
            "improved",
        ],
        ["test_work\\.py::test_new", "5 J", "-", "-", co2, "new"],
        ["test_work\\.py::test_region_only::r", r"2\.2 J", "-", r"2 J \(\+10 %\)", co2, "ok"],
    ]
    for cells in expected_rows:
        assert re.search(md_row(cells), text, re.MULTILINE), (cells, text)
    assert sum(line.startswith("| test_work.py::") for line in lines) == 4, text
    assert re.search(r"^.*total.*24\.4 J", text, re.MULTILINE | re.IGNORECASE), text
    assert re.search(r"^.*meters?\b.*\bfake\b", text, re.MULTILINE), text
    assert "measured" in text


def test_markdown_report_has_the_table_totals_and_meters(gb: Any, assert_no_crash: Any) -> None:
    report_project(gb)
    result = gb.run(PROFILE, "-q", "--greenbudget-markdown=energy.md")
    assert result.ret == 1
    assert_no_crash(result)
    text = (gb.path / "energy.md").read_text(encoding="utf-8")
    check_markdown(text)


def test_markdown_escapes_a_pipe_in_a_test_id(gb: Any) -> None:
    setup_project(
        gb,
        {
            "test_work": """
            import pytest
            from workload import use


            @pytest.mark.energy_budget
            @pytest.mark.parametrize("x", ["a|b"])
            def test_p(x):
                use("a")
            """
        },
        {"a": 1.0},
    )
    result = gb.run(PROFILE, "-q", "--greenbudget-markdown=energy.md")
    assert result.ret == 0
    rows = [
        line
        for line in (gb.path / "energy.md").read_text(encoding="utf-8").splitlines()
        if "test_p" in line
    ]
    assert len(rows) == 1
    cells = re.split(r"(?<!\\)\|", rows[0])
    assert cells[0] == "" and cells[-1] == ""
    assert len(cells) == 8, rows[0]  # six columns
    assert "a\\|b" in cells[1]


def test_github_step_summary_gets_the_markdown_appended(
    gb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_project(gb)
    step_summary = gb.path / "step_summary.md"
    previous = "## Earlier step\n\nkeep me: 100 %\n"
    step_summary.write_text(previous, encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))

    result = gb.run(PROFILE, "-q", "--greenbudget-markdown=energy.md")
    assert result.ret == 1
    markdown = (gb.path / "energy.md").read_text(encoding="utf-8")
    appended = step_summary.read_text(encoding="utf-8")
    assert appended.startswith(previous)
    assert appended[len(previous) :] == markdown
    check_markdown(appended[len(previous) :])

    result = gb.run(PROFILE, "-q")  # a second pytest step in the same job: appended again
    assert result.ret == 1
    again = step_summary.read_text(encoding="utf-8")
    assert again.startswith(appended)
    check_markdown(again[len(appended) :])


def test_no_terminal_plugin_still_writes_every_report(
    gb: Any, assert_no_crash: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_project(gb)
    step_summary = gb.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = gb.run(
        PROFILE,
        "-p",
        "no:terminal",
        "--greenbudget-markdown=energy.md",
        "--greenbudget-json=r.json",
    )
    assert result.ret == 1
    assert_no_crash(result)
    check_markdown((gb.path / "energy.md").read_text(encoding="utf-8"))
    check_markdown(step_summary.read_text(encoding="utf-8"))
    doc = json.loads((gb.path / "r.json").read_text(encoding="utf-8"))
    assert len(doc["entries"]) == 4


@pytest.mark.parametrize("which", ["step-summary", "markdown", "json"])
def test_an_unwritable_report_neither_crashes_the_run_nor_loses_the_baseline(
    gb: Any, monkeypatch: pytest.MonkeyPatch, assert_no_crash: Any, which: str
) -> None:
    setup_project(gb, {"test_work": REPORT_TESTS}, REPORT_WORK)
    folder = gb.path / "a_folder"
    folder.mkdir()
    args = [PROFILE, "--greenbudget-save", "-q"]
    if which == "step-summary":
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(folder))
    else:
        args.append(f"--greenbudget-{which}={folder}")
    result = gb.run(*args)
    assert_no_crash(result)
    assert "a_folder" in output(result)
    baseline = gb.path / ".greenbudget" / "baseline.json"
    assert baseline.is_file()
    entries = json.loads(baseline.read_text(encoding="utf-8"))["profiles"]["p"]["entries"]
    assert len(entries) == 4
    assert folder.is_dir() and list(folder.iterdir()) == []


# --------------------------------------------------------------------------- annotations

ANNOTATED = """
import pytest
from workload import use


def test_over():
    use("a")


def test_regressed():
    use("a")


def test_warned():
    use("a")


def test_fine():
    use("small")


def test_region(energy_meter):
    with energy_meter.measure("r"):
        use("a")
"""

ANNOTATED_TOML = """
[tool.greenbudget.budgets]
"tests/test_ci.py::test_over" = "10 J"
"tests/test_ci.py::test_regressed" = { tolerance = 0.1 }
"tests/test_ci.py::test_warned" = { budget = "10 J", on_exceed = "warn" }
"tests/test_ci.py::test_fine" = "10 J"
"""


def annotated_project(gb: Any) -> Path:
    (gb.path / "tests").mkdir()
    setup_project(gb, {}, {"a": 12.4, "small": 1.0}, toml=ANNOTATED_TOML)
    path = gb.path / "tests" / "test_ci.py"
    path.write_text(ANNOTATED, encoding="utf-8")
    write_baseline(
        gb,
        {"tests/test_ci.py::test_regressed": 9.8, "tests/test_ci.py::test_region::r": 9.8},
    )
    return path


SYS_PATH_CONFTEST = """
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
"""


def annotations(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if line.startswith("::")]


def annotation_re(level: str, line: int, message: str) -> str:
    escaped = re.escape(message.replace("%", "%25"))
    return rf"::{level} file=tests/test_ci\.py,line={line}(,[^:]*)?::(.*: )?{escaped}"


def test_github_actions_annotates_findings_at_the_test_def(
    gb: Any, monkeypatch: pytest.MonkeyPatch, assert_no_crash: Any
) -> None:
    path = annotated_project(gb)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = gb.run(PROFILE, "-q")
    result.assert_outcomes(passed=2, failed=3, warnings=1)
    assert result.ret == 1
    assert_no_crash(result)
    got = annotations(result)
    expected = [
        annotation_re("error", def_line(path, "test_over"), OVER_BUDGET),
        annotation_re("error", def_line(path, "test_regressed"), REGRESSION),
        annotation_re("warning", def_line(path, "test_warned"), OVER_BUDGET),
        annotation_re("error", def_line(path, "test_region"), REGRESSION),
    ]
    assert len(got) == len(expected), got
    for pattern in expected:
        assert sum(bool(re.fullmatch(pattern, line)) for line in got) == 1, (pattern, got)


def test_warn_only_annotations_are_warnings(gb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = annotated_project(gb)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = gb.run(PROFILE, "-q", "--greenbudget-warn-only")
    result.assert_outcomes(passed=5, warnings=4)
    assert result.ret == 0
    got = annotations(result)
    assert len(got) == 4, got
    assert all(line.startswith("::warning ") for line in got), got
    assert any(
        re.fullmatch(annotation_re("warning", def_line(path, "test_regressed"), REGRESSION), x)
        for x in got
    ), got


@pytest.mark.parametrize("value", [None, "false", "1"])
def test_no_annotations_outside_github_actions(
    gb: Any, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    annotated_project(gb)
    if value is not None:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    result = gb.run(PROFILE, "-q")
    assert result.ret == 1
    assert not [line for line in result.stdout.lines if "::error" in line or "::warning" in line]


def test_annotation_of_a_decorated_test_points_at_its_def(
    gb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_project(
        gb,
        {
            "test_deco": """
            import pytest
            from workload import use


            @pytest.mark.energy_budget("10 J")
            @pytest.mark.parametrize("x", [1])
            def test_over(x):
                use("a")
            """
        },
        {"a": 12.4},
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = gb.run(PROFILE, "-q")
    assert result.ret == 1
    line = def_line(gb.path / "test_deco.py", "test_over")
    got = annotations(result)
    assert len(got) == 1, got
    assert got[0].startswith(f"::error file=test_deco.py,line={line},"), got


def test_annotation_of_a_failing_decorated_test_points_at_its_def(
    gb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_project(
        gb,
        {
            "test_deco": """
            import pytest
            from workload import use


            @pytest.mark.energy_budget("10 J")
            def test_over():
                use("a")
                assert False, "fails on its own"
            """
        },
        {"a": 12.4},
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = gb.run(PROFILE, "-q")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*AssertionError: fails on its own*"])
    line = def_line(gb.path / "test_deco.py", "test_over")
    got = annotations(result)
    assert len(got) == 1, got
    assert re.match(rf"::(error|warning) file=test_deco\.py,line={line},", got[0]), got


# --------------------------------------------------------------------------- xdist


def test_reports_under_xdist_hold_every_workers_entries(
    gb: Any, monkeypatch: pytest.MonkeyPatch, assert_no_crash: Any
) -> None:
    path = annotated_project(gb)
    # xdist gives local workers the controller's sys.path as frozen at xdist's import
    # (so PYTHONPATH set later is lost): a conftest makes fakemeter importable there.
    (gb.path / "conftest.py").write_text(SYS_PATH_CONFTEST, encoding="utf-8")
    (gb.path / "tests" / "test_more.py").write_text(REPORT_TESTS, encoding="utf-8")
    (gb.path / "work.json").write_text(
        json.dumps({"a": 12.4, "small": 1.0, **REPORT_WORK}), encoding="utf-8"
    )
    write_baseline(
        gb,
        {
            "tests/test_ci.py::test_regressed": 9.8,
            "tests/test_ci.py::test_region::r": 9.8,
            "tests/test_more.py::test_regressed": 9.8,
        },
    )
    step_summary = gb.path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    xml = gb.path / "junit.xml"
    result, doc = gb.run_json(
        PROFILE, "-q", "-n", "2", "--dist", "loadfile", f"--junitxml={xml}",
        "--greenbudget-markdown=energy.md",
    )  # fmt: skip
    assert result.ret == 1
    assert_no_crash(result)
    ids = sorted(e["id"] for e in doc["entries"])
    assert ids == [
        "tests/test_ci.py::test_fine",
        "tests/test_ci.py::test_over",
        "tests/test_ci.py::test_region::r",
        "tests/test_ci.py::test_regressed",
        "tests/test_ci.py::test_warned",
        "tests/test_more.py::test_improved",
        "tests/test_more.py::test_new",
        "tests/test_more.py::test_region_only::r",
        "tests/test_more.py::test_regressed",
    ]
    statuses = {e["id"]: (e["status"], e["outcome"], e["baseline_joules"]) for e in doc["entries"]}
    assert statuses["tests/test_ci.py::test_regressed"] == ("regressed", "failed", 9.8)
    assert statuses["tests/test_more.py::test_regressed"] == ("regressed", "failed", 9.8)
    assert statuses["tests/test_more.py::test_new"] == ("new", "passed", None)

    markdown = (gb.path / "energy.md").read_text(encoding="utf-8")
    assert step_summary.read_text(encoding="utf-8") == markdown
    assert sum(line.startswith("| tests/") for line in markdown.splitlines()) == 9

    props = {
        case.get("classname", "") + "." + (case.get("name") or ""): {
            p.get("name"): p.get("value") for p in case.iter("property")
        }
        for case in ET.parse(xml).iter("testcase")
    }
    assert float(props["tests.test_more.test_regressed"]["energy_baseline_joules"]) == 9.8
    assert float(props["tests.test_ci.test_regressed"]["energy_baseline_joules"]) == 9.8
    assert props["tests.test_ci.test_over"]["energy_status"] == "over_budget"

    got = annotations(result)
    assert len(got) == 5, got  # four in test_ci.py, one in test_more.py
    assert any(
        re.fullmatch(annotation_re("error", def_line(path, "test_regressed"), REGRESSION), x)
        for x in got
    ), got
