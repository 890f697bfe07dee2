"""SPEC 9: terminal summary, report header and the JSON report (Markdown: smoke only)."""

from __future__ import annotations

import json

import pytest

TESTS = """
import pytest, fakemeter

@pytest.mark.energy_budget("10 J")
def test_over():
    fakemeter.spend(12.4)

@pytest.mark.energy_budget("1 kJ")
def test_region(energy_meter):
    with energy_meter.measure("inner", budget="3 J"):
        fakemeter.spend(2)
    fakemeter.spend(3)

@pytest.mark.energy_budget("5 gCO2e")
def test_carbon():
    fakemeter.spend(2500)

@pytest.mark.energy_budget()
def test_small():
    fakemeter.spend(0.0123)
"""


def test_terminal_summary(gb) -> None:
    gb.pytester.makepyfile(test_s=TESTS)
    result = gb.run()
    result.assert_outcomes(passed=3, failed=1)
    lines = result.stdout.lines
    (title,) = [i for i, line in enumerate(lines) if "energy" in line and line.startswith("===")]
    table = lines[title + 1 :]
    assert table[0].split() == ["test", "energy", "budget", "baseline", "CO2e", "status"]
    rows = {line.split()[0]: line for line in table[1:6]}
    assert set(rows) == {
        "test_s.py::test_over",
        "test_s.py::test_region",
        "test_s.py::test_region::inner",
        "test_s.py::test_carbon",
        "test_s.py::test_small",
    }
    assert rows["test_s.py::test_over"].split() == [
        "test_s.py::test_over", "12.4", "J", "10", "J", "(124", "%)", "-", "1.64", "mgCO2e",
        "over_budget",
    ]
    assert "5 J" in rows["test_s.py::test_region"] and "1 kJ (" in rows["test_s.py::test_region"]
    assert "2 J" in rows["test_s.py::test_region::inner"]
    assert "3 J (67 %)" in rows["test_s.py::test_region::inner"]
    assert "2.5 kJ" in rows["test_s.py::test_carbon"]
    assert "5 gCO2e (" in rows["test_s.py::test_carbon"]
    assert "12.3 mJ" in rows["test_s.py::test_small"]
    assert rows["test_s.py::test_small"].split()[-1] == "new"
    rest = "\n".join(table)
    # totals: tests only (12.4 + 5 + 2500 + 0.0123), not the region again
    assert "total: 2.52 kJ" in rest
    assert "meters: fake (measured)" in rest
    assert "measured by hardware counters" in rest


def test_summary_under_quiet_and_rows_for_baseline(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(
        """
        import os, pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_b():
            fakemeter.spend(float(os.environ["GB_SPEND"]))
        """
    )
    monkeypatch.setenv("GB_SPEND", "9.8")
    gb.run("--greenbudget-save", "-q").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "9.9")
    for quiet in ("-q", "-qq"):
        result = gb.run(quiet)
        assert result.ret == 0
        result.stdout.fnmatch_lines(
            ["*energy*", "test * energy * status*", "*::test_b*9.9 J*9.8 J (+1 %)*ok*"]
        )


def test_estimated_meters_are_called_estimated(gb) -> None:
    gb.pytester.makepyfile(test_s=TESTS)
    result = gb.run("--greenbudget-meter=fakemeter:OtherMeter")
    result.stdout.fnmatch_lines(["meters: other (estimated*", "numbers are estimated*"])


def test_report_header(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nbaseline = "energy/base.json"\n')
    gb.pytester.makepyfile(test_s=TESTS)
    result = gb.run("--greenbudget-profile=ci-box")
    header = [line for line in result.stdout.lines if line.startswith("greenbudget:")]
    assert len(header) == 1, result.stdout.str()
    (line,) = header
    assert "fake" in line and "ci-box" in line
    assert "energy/base.json" in line and "0 entries" in line
    gb.run("--greenbudget-profile=ci-box", "--greenbudget-save")
    result = gb.run("--greenbudget-profile=ci-box")
    (line,) = [line for line in result.stdout.lines if line.startswith("greenbudget:")]
    assert "4 entries" in line  # test_region, its region, test_carbon and test_small passed
    result = gb.run()  # another (the default) profile has no entries
    (line,) = [line for line in result.stdout.lines if line.startswith("greenbudget:")]
    assert "0 entries" in line and "fake-" in line


def test_json_document_shape(gb) -> None:
    gb.pytester.makepyfile(test_s=TESTS)
    result, doc = gb.run_json()
    result.assert_outcomes(passed=3, failed=1)
    assert doc["schema"] == "greenbudget/1"
    assert {"schema", "meters", "profile", "carbon_intensity_g_per_kwh", "entries",
            "totals"} <= set(doc)
    assert [(m["name"], m["estimated"], m["domains"]) for m in doc["meters"]] == [
        ("fake", False, ["cpu"])
    ]
    assert isinstance(doc["profile"], str) and doc["profile"]
    assert doc["carbon_intensity_g_per_kwh"] == 475.0
    keys = {"id", "outcome", "status", "joules", "seconds", "co2_grams", "domains", "budget",
            "baseline_joules", "rounds", "message"}
    for entry in doc["entries"]:
        assert keys <= set(entry), entry
        assert isinstance(entry["seconds"], float) and entry["seconds"] >= 0
        assert entry["rounds"] == 1
        assert entry["baseline_joules"] is None
        assert entry["co2_grams"] == pytest.approx(entry["joules"] / 3.6e6 * 475)
        assert entry["domains"] == {"cpu": pytest.approx(entry["joules"])}
    by_id = {e["id"]: e for e in doc["entries"]}
    assert list(by_id) == [
        "test_s.py::test_over",
        "test_s.py::test_region",
        "test_s.py::test_region::inner",
        "test_s.py::test_carbon",
        "test_s.py::test_small",
    ]
    over = by_id["test_s.py::test_over"]
    assert (over["outcome"], over["status"], over["budget"]) == (
        "failed", "over_budget", {"joules": 10.0}
    )
    assert over["message"] == "energy budget exceeded: used 12.4 J, budget 10 J (124 %)"
    assert over["joules"] == pytest.approx(12.4)
    region = by_id["test_s.py::test_region"]
    assert region["joules"] == pytest.approx(5)  # the region is inside its test
    assert region["message"] is None and region["status"] == "ok"
    inner = by_id["test_s.py::test_region::inner"]
    assert (inner["outcome"], inner["status"], inner["budget"]) == ("passed", "ok", {"joules": 3.0})
    assert inner["joules"] == pytest.approx(2)
    assert by_id["test_s.py::test_carbon"]["budget"] == {"co2_grams": 5.0}
    small = by_id["test_s.py::test_small"]
    assert (small["status"], small["budget"]) == ("new", None)
    tests = [by_id[i] for i in by_id if i != "test_s.py::test_region::inner"]
    totals = doc["totals"]
    assert set(totals) == {"joules", "seconds", "co2_grams"}
    assert totals["joules"] == pytest.approx(12.4 + 5 + 2500 + 0.0123)
    assert totals["co2_grams"] == pytest.approx(sum(e["co2_grams"] for e in tests))
    assert totals["seconds"] == pytest.approx(sum(e["seconds"] for e in tests))


def test_json_totals_skip_unmeasured_entries_and_json_without_entries(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_a():
            fakemeter.spend(4)
        @pytest.mark.energy_budget()
        def test_b():
            fakemeter.breaks()
        """
    )
    _, doc = gb.run_json("-W", "ignore::pytest_greenbudget.EnergyBudgetWarning")
    assert [e["status"] for e in doc["entries"]] == ["new", "unmeasured"]
    assert doc["totals"]["joules"] == pytest.approx(4)
    assert doc["entries"][1]["joules"] is None and doc["entries"][1]["co2_grams"] is None

    gb.pytester.makepyfile("def test_a():\n    pass\n")
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert doc["entries"] == []
    assert doc["totals"] == {"joules": 0, "seconds": 0, "co2_grams": 0}


def test_markdown_and_step_summary_smoke(gb, monkeypatch) -> None:
    summary = gb.path / "step.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    gb.pytester.makepyfile(test_s=TESTS)
    md = gb.path / "r.md"
    gb.run(f"--greenbudget-markdown={md}")
    text = md.read_text()
    assert "| test | energy | budget | baseline | CO2e | status |" in text
    assert "test_s.py::test_over" in text and "over_budget" in text
    step = summary.read_text()
    assert step.startswith("earlier step\n")
    assert step.endswith(text)


def test_save_and_profile_smoke(gb) -> None:
    gb.pytester.makepyfile(test_s=TESTS)
    gb.run("--greenbudget-save", "--greenbudget-profile=mine")
    doc = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    assert doc["schema"] == "greenbudget-baseline/1"
    assert list(doc["profiles"]) == ["mine"]
    entries = doc["profiles"]["mine"]["entries"]
    assert set(entries) == {
        "test_s.py::test_region",
        "test_s.py::test_region::inner",
        "test_s.py::test_carbon",
        "test_s.py::test_small",
    }
    assert entries["test_s.py::test_region::inner"]["joules"] == pytest.approx(2)
    _, report = gb.run_json("--greenbudget-profile=mine")
    assert report["profile"] == "mine"
    assert {e["id"]: e["baseline_joules"] for e in report["entries"]}[
        "test_s.py::test_region"
    ] == pytest.approx(5)
