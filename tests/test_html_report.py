"""SPEC 15: JSON reports -> one self-contained HTML page (reading, skipping, drawing, CLI)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_greenbudget import html_report
from pytest_greenbudget.entry import Entry
from pytest_greenbudget.history import RunMeta
from pytest_greenbudget.report import MeterInfo, RunInfo, json_document


def report_doc(
    i: int, *, profile: str = "estimate-x", estimated: bool = True, scale: float = 1.0
) -> dict[str, Any]:
    """A JSON report as the plugin writes it, for run number `i`."""
    entries = [
        Entry.from_json({"id": "tests/test_a.py::test_train", "status": "ok",
                         "joules": (10.0 + i) * scale, "seconds": 1.0, "co2_grams": 0.001,
                         "budget": {"joules": 20.0}, "baseline_joules": 10.0}),
        Entry.from_json({"id": "tests/test_a.py::test_big", "status": "over_budget",
                         "joules": 30.0 + i, "seconds": 1.0, "co2_grams": 0.004,
                         "budget": {"joules": 25.0},
                         "message": "energy budget exceeded: used 31 J, budget 25 J"}),
        Entry.from_json({"id": "tests/test_b.py::test_free", "status": "new",
                         "joules": 2.0, "seconds": 0.1}),
    ]
    info = RunInfo(
        meters=[MeterInfo("estimate" if estimated else "rapl", estimated, ["cpu"], "CPU x W")],
        profile=profile,
        intensity=400.0,
        intensity_source="carbon_intensity setting",
        run=RunMeta(f"2026-12-0{i + 1}T10:00:00.000Z", f"{i:07d}abcdef", "main", i == 2, profile),
    )
    return json_document(entries, info)


def write_history(folder: Path, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"2026120{i + 1}T100000.000Z-p.json").write_text(json.dumps(report_doc(i)))


def test_runs_are_read_from_files_and_folders_in_time_order(tmp_path: Path) -> None:
    write_history(tmp_path / "h")
    (tmp_path / "h" / "nested").mkdir()
    (tmp_path / "h" / "nested" / "old.json").write_text(json.dumps(report_doc(0)))
    runs, problems = html_report.load_runs([tmp_path / "h"])
    assert problems == []
    assert [r.meta.started[:10] for r in runs if r.meta] == [
        "2026-12-01", "2026-12-01", "2026-12-02", "2026-12-03"
    ]
    runs, _ = html_report.load_runs([tmp_path / "h"], max_runs=2)
    assert [r.meta.started[:10] for r in runs if r.meta] == ["2026-12-02", "2026-12-03"]


def test_foreign_and_broken_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    write_history(tmp_path, 1)
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    bad_entry = report_doc(0)
    bad_entry["entries"][0]["status"] = "splendid"
    (tmp_path / "bad_entry.json").write_text(json.dumps(bad_entry))
    runs, problems = html_report.load_runs([tmp_path, tmp_path / "missing"])
    assert len(runs) == 1
    text = "\n".join(problems)
    assert "package.json: not a greenbudget report (schema None" in text
    assert "broken.json: not valid JSON" in text
    assert "list.json: not a greenbudget report (a JSON list)" in text
    assert "bad_entry.json" in text and "splendid" in text
    assert "missing: no such file or folder" in text


def test_a_report_without_run_info_is_still_read(tmp_path: Path) -> None:
    doc = report_doc(0)
    del doc["run"]
    run = html_report.parse_report(doc, "old.json")
    assert run.meta is None and run.started is None and run.profile == "estimate-x"
    assert "does not say when" in html_report.render([run])


def page(runs_docs: list[dict[str, Any]], **kw: Any) -> str:
    runs = [html_report.parse_report(d, f"r{i}.json", i) for i, d in enumerate(runs_docs)]
    return html_report.render(runs, **kw)


def test_the_page_has_bars_statuses_charts_and_notes() -> None:
    html = page([report_doc(0), report_doc(1), report_doc(2)])
    assert html.startswith("<!DOCTYPE html>")
    # the latest run's entries, with statuses and budget bars
    assert html.count('class="badge"') >= 3
    assert 'class="bar over"' in html  # test_big is over its budget
    assert "128 % of 25 J" in html  # 32 J of 25 J in the latest run
    assert "energy budget exceeded" in html
    # one chart per measured entry, plus the totals chart
    assert html.count("<svg") == 3 + 1
    assert html.count('class="chart"') == 3
    # meters, profile, estimated note, run line
    assert "estimate-x" in html and "<b>estimated</b>" in html
    assert "commit 0000002abc" in html and "(uncommitted changes)" in html


def test_the_page_needs_no_network_and_no_script() -> None:
    html = page([report_doc(0), report_doc(1)])
    assert "<script" not in html
    for attribute in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html):
        assert attribute.startswith("#"), attribute
    assert "@import" not in html and "url(http" not in html


def test_charts_are_capped_and_the_page_says_so() -> None:
    html = page([report_doc(0)], max_charts=1)
    assert html.count('class="chart"') == 1
    assert "1 of 3 measured entries" in html and "2 more are in the table only" in html
    # the changed entry comes first
    first = html.index('class="chart"')
    assert "test_big" in html[first : first + 300]


def test_runs_of_different_profiles_are_separate_series() -> None:
    html = page([report_doc(0, profile="laptop"), report_doc(1, profile="ci-runner")])
    chart = html[html.index('id="chart-0"') :]
    chart = chart[: chart.index("</svg>")]
    assert "laptop" in chart and "ci-runner" in chart


def test_measured_numbers_are_said_to_be_measured() -> None:
    html = page([report_doc(0, estimated=False)])
    assert "<b>measured</b>" in html and "<b>estimated</b>" not in html


def test_missing_pygal_is_a_clear_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_history(tmp_path / "h", 1)
    monkeypatch.setitem(sys.modules, "pygal", None)  # import pygal -> ImportError
    err = io.StringIO()
    code = html_report.main([str(tmp_path / "h"), "--html", str(tmp_path / "o.html")], err)
    assert code == 1
    assert "pygal" in err.getvalue() and "pip install 'pytest-greenbudget[html]'" in err.getvalue()
    assert not (tmp_path / "o.html").exists()


def test_no_reports_found_exits_1(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    err = io.StringIO()
    assert html_report.main([str(tmp_path), "--html", str(tmp_path / "o.html")], err) == 1
    assert "skipped" in err.getvalue() and "nothing written" in err.getvalue()


def test_python_m_report_writes_the_page(tmp_path: Path) -> None:
    write_history(tmp_path / "h")
    (tmp_path / "h" / "junk.json").write_text("[]")
    out = tmp_path / "out" / "energy.html"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_greenbudget", "report", str(tmp_path / "h"),
         "--html", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "skipped" in done.stderr and "junk.json" in done.stderr
    assert f"wrote {out} (3 runs)" in done.stderr
    assert out.read_text().count("<svg") == 4


def test_python_m_report_bad_arguments_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_greenbudget", "report", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "--html" in done.stderr


def test_drawing_leaves_the_import_machinery_as_it_was() -> None:
    """pygal's import (importlib_metadata) must not hide installed plugins from the process."""
    code = (
        "import sys, importlib.metadata as md\n"
        "def state():\n"
        "    names = sorted(e.name for e in md.entry_points(group='pytest11'))\n"
        "    return list(sys.meta_path), names\n"
        "before = state()\n"
        "from pytest_greenbudget import html_report\n"
        "html_report._pygal()\n"
        "after = state()\n"
        "assert before == after, (before, after)\n"
        "assert 'greenbudget' in after[1]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_per_unit_budget_bar_compares_the_per_unit_figure() -> None:
    """As the summary does: 2 uJ/sample of a 5 uJ/sample budget, not 20 J of 5 uJ."""
    entry = Entry.from_json({
        "id": "tests/test_m.py::test_batch", "status": "ok", "joules": 20.0, "seconds": 1.0,
        "budget": {"joules": 5e-6, "per": "sample"},
        "work": {"count": 1e7, "unit": "sample"}, "joules_per_unit": 2e-6,
    })
    bar = html_report._bar(entry)
    assert "40 % of 5 uJ/sample" in bar
    assert 'class="bar"' in bar
