"""Unit tests for the terminal table, JSON document and Markdown table (SPEC section 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_greenbudget.entry import Entry
from pytest_greenbudget.report import (
    COLUMNS,
    JSON_SCHEMA,
    MeterInfo,
    RunInfo,
    json_document,
    json_text,
    markdown,
    rows,
    terminal_lines,
    totals,
    write_text,
)

INFO = RunInfo(
    meters=[MeterInfo("estimate", True, ["cpu"], "CPU time x 280 W")],
    profile="estimate-amd-epyc-2cpu",
    intensity=475.0,
    intensity_source="world average",
)
HW_INFO = RunInfo(
    meters=[MeterInfo("rapl", False, ["cpu:package-0", "dram:0"]),
            MeterInfo("nvml", False, ["gpu:0"])],
    profile="rapl+nvml-x",
    intensity=430.6,
    intensity_source="codecarbon grid data for KOR",
)


def entry(**kw: Any) -> Entry:
    base: dict[str, Any] = {
        "id": "tests/test_a.py::test_x",
        "kind": "test",
        "outcome": "passed",
        "status": "ok",
        "joules": 12.3,
        "seconds": 0.52,
        "co2_grams": 0.0016,
        "domains": {"cpu": 12.3},
        "budget": {"joules": 50.0},
        "baseline_joules": 11.9,
        "rounds": 1,
        "message": None,
    }
    base.update(kw)
    return Entry.from_json(base)


# -- rows and cells ------------------------------------------------------------------------


def test_columns() -> None:
    assert COLUMNS == ("test", "energy", "budget", "baseline", "CO2e", "status")


def test_row_cells() -> None:
    assert rows([entry()]) == [(
        "tests/test_a.py::test_x", "12.3 J", "50 J (25 %)", "11.9 J (+3 %)", "1.6 mgCO2e", "ok"
    )]


def test_row_without_budget_or_baseline() -> None:
    row = rows([entry(budget=None, baseline_joules=None, status="new")])[0]
    assert row[2] == "-" and row[3] == "-" and row[5] == "new"


def test_row_carbon_budget_uses_grams() -> None:
    row = rows([entry(budget={"co2_grams": 0.0032})])[0]
    assert row[2] == "3.2 mgCO2e (50 %)"


def test_row_zero_budget_does_not_divide_by_zero() -> None:
    row = rows([entry(budget={"joules": 0.0}, status="over_budget")])[0]
    assert row[2].startswith("0 J")


def test_row_baseline_decrease_and_zero() -> None:
    assert rows([entry(joules=5.0, baseline_joules=10.0)])[0][3] == "10 J (-50 %)"
    assert rows([entry(baseline_joules=0.0)])[0][3] == "0 J"


def test_row_unmeasured_entry() -> None:
    row = rows([entry(joules=None, seconds=None, co2_grams=None, domains=None, status="unmeasured",
                      message="meter 'rapl' failed to read: OSError")])[0]
    assert row[1] == "-"
    assert row[2] == "50 J"
    assert row[3] == "11.9 J"
    assert row[4] == "-"
    assert row[5] == "unmeasured"


def test_row_median_and_resolution_notes() -> None:
    cell = rows([entry(rounds=5, below_resolution=True)])[0][1]
    assert cell == "12.3 J (median of 5) (below meter resolution)"


def test_row_readable_units() -> None:
    row = rows([entry(joules=7.2e6, co2_grams=950.0, budget={"joules": 3.6e6},
                      baseline_joules=None)])[0]
    assert row[1] == "2 kWh"
    assert row[2] == "1 kWh (200 %)"
    assert row[4] == "950 gCO2e"


# -- totals ----------------------------------------------------------------------------------


def test_totals_sum_only_measured_test_entries() -> None:
    entries = [
        entry(id="t.py::a", joules=10.0, seconds=1.0, co2_grams=0.1),
        entry(id="t.py::a::fp32", kind="region", joules=4.0, seconds=0.4, co2_grams=0.04),
        entry(id="t.py::b", joules=2.5, seconds=0.5, co2_grams=0.025),
        entry(id="t.py::c", joules=None, seconds=None, co2_grams=None, status="unmeasured"),
    ]
    assert totals(entries) == {"joules": 12.5, "seconds": 1.5, "co2_grams": pytest.approx(0.125)}


def test_totals_entries_without_kind_are_tests() -> None:
    data = entry().to_json()
    del data["kind"]
    assert totals([Entry.from_json(data)])["joules"] == 12.3


def test_totals_empty() -> None:
    assert totals([]) == {"joules": 0.0, "seconds": 0.0, "co2_grams": 0.0}


# -- JSON ------------------------------------------------------------------------------------


SPEC_ENTRY_KEYS = {"id", "outcome", "status", "joules", "seconds", "co2_grams", "domains",
                   "budget", "baseline_joules", "rounds", "message"}


def test_json_document_shape() -> None:
    entries = [entry(), entry(id="tests/test_a.py::test_x::fp32", kind="region", joules=1.0,
                              budget=None, seconds=0.1, co2_grams=0.0001)]
    doc = json_document(entries, INFO)
    assert doc["schema"] == JSON_SCHEMA == "greenbudget/1"
    assert {"schema", "meters", "profile", "carbon_intensity_g_per_kwh", "entries",
            "totals"} <= set(doc)
    assert doc["meters"][0]["name"] == "estimate"
    assert doc["meters"][0]["estimated"] is True
    assert doc["meters"][0]["domains"] == ["cpu"]
    assert doc["profile"] == "estimate-amd-epyc-2cpu"
    assert doc["carbon_intensity_g_per_kwh"] == 475.0
    assert len(doc["entries"]) == 2
    first = doc["entries"][0]
    assert SPEC_ENTRY_KEYS <= set(first)
    assert first["id"] == "tests/test_a.py::test_x"
    assert first["outcome"] == "passed"
    assert first["budget"] == {"joules": 50.0}
    assert first["message"] is None
    assert doc["entries"][1]["budget"] is None
    assert doc["totals"] == {"joules": 12.3, "seconds": 0.52, "co2_grams": 0.0016}
    # it is JSON: a round trip keeps it
    assert json.loads(json.dumps(doc)) == doc


def test_json_document_missing_keys_become_null() -> None:
    unmeasured = Entry.from_json({"id": "t::x", "status": "unmeasured", "outcome": "failed"})
    doc = json_document([unmeasured], INFO)
    e = doc["entries"][0]
    for key in SPEC_ENTRY_KEYS - {"id", "status", "outcome", "domains", "rounds"}:
        assert e[key] is None
    assert e["domains"] == {}
    assert e["rounds"] == 1


def test_json_document_meters_list_all() -> None:
    doc = json_document([], HW_INFO)
    assert [m["name"] for m in doc["meters"]] == ["rapl", "nvml"]
    assert all(m["estimated"] is False for m in doc["meters"])
    assert doc["carbon_intensity_g_per_kwh"] == 430.6
    assert doc["entries"] == []


def test_write_json(tmp_path: Path) -> None:
    path = tmp_path / "out" / "r.json"
    doc = json_document([entry()], INFO)
    write_text(path, json_text([entry()], INFO))
    assert json.loads(path.read_text("utf-8")) == doc
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_write_text_append(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    write_text(path, "a\n", append=True)
    write_text(path, "b\n", append=True)
    assert path.read_text("utf-8") == "a\nb\n"
    write_text(path, "c\n")
    assert path.read_text("utf-8") == "c\n"


# -- terminal ----------------------------------------------------------------------------------


def test_terminal_lines() -> None:
    entries = [
        entry(),
        entry(id="tests/test_b.py::test_y", status="over_budget", joules=60.0, co2_grams=0.008,
              message="energy budget exceeded: used 60 J, budget 50 J (120 %)"),
    ]
    lines = terminal_lines(entries, INFO)
    header = lines[0]
    for column in COLUMNS:
        assert column in header
    assert "tests/test_a.py::test_x" in lines[1]
    assert "over_budget" in lines[2]
    # columns align: every status starts at the same offset
    assert lines[1].index("ok") == lines[2].index("over_budget") == header.index("status")
    text = "\n".join(lines)
    assert "tests/test_b.py::test_y: energy budget exceeded" in text
    assert "total: 72.3 J" in text
    assert "estimate (estimated: CPU time x 280 W)" in text
    assert "numbers are estimated" in text
    assert "475 gCO2e/kWh" in text
    assert "estimate-amd-epyc-2cpu" in text


def test_terminal_hardware_meters_say_measured() -> None:
    text = "\n".join(terminal_lines([entry()], HW_INFO))
    assert "measured by hardware counters" in text
    assert "rapl (measured)" in text


def test_terminal_no_entries() -> None:
    lines = terminal_lines([], INFO)
    assert lines[0].split() == list(COLUMNS)
    assert any(line.startswith("total: 0 J") for line in lines)


# -- markdown -------------------------------------------------------------------------------


def test_markdown_table() -> None:
    md = markdown([entry()], INFO)
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| test"))
    assert header == "| test | energy | budget | baseline | CO2e | status |"
    separator = lines[lines.index(header) + 1]
    assert separator.count("---") == len(COLUMNS)
    row = lines[lines.index(header) + 2]
    assert row == ("| tests/test_a.py::test_x | 12.3 J | 50 J (25 %) | 11.9 J (+3 %) | "
                   "1.6 mgCO2e | ok |")
    assert "total: 12.3 J" in md
    assert md.endswith("\n")


def test_markdown_escapes_pipes() -> None:
    md = markdown([entry(id="tests/t.py::test_x[a|b]")], INFO)
    row = next(line for line in md.splitlines() if "test_x" in line)
    assert "test_x[a\\|b]" in row
    # exactly the 7 unescaped separators of a 6-column row
    unescaped = row.replace("\\|", "")
    assert unescaped.count("|") == len(COLUMNS) + 1


def test_markdown_row_count() -> None:
    entries = [entry(id=f"t.py::test_{i}") for i in range(3)]
    md = markdown(entries, INFO)
    assert sum(1 for line in md.splitlines() if line.startswith("| t.py::test_")) == 3
