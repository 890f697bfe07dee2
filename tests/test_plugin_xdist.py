"""SPEC 11: pytest-xdist. Entries of every worker reach the controller's reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("xdist")

TESTS = """
import os, pytest, fakemeter

def _where():
    with open("workers-" + os.environ.get("PYTEST_XDIST_WORKER", "none"), "a") as f:
        f.write("x")

@pytest.mark.parametrize("joules", [1, 2, 3, 4, 5, 6])
@pytest.mark.energy_budget("10 J")
def test_ok(joules):
    _where()
    fakemeter.spend(joules)

@pytest.mark.energy_budget("10 J")
def test_over():
    _where()
    fakemeter.spend(12.4)

@pytest.mark.energy_budget("10 J", on_exceed="warn")
def test_warn():
    _where()
    fakemeter.spend(11)

def test_region(energy_meter):
    _where()
    with energy_meter.measure("r", budget="5 J"):
        fakemeter.spend(2)
"""

IDS = [f"test_x.py::test_ok[{j}]" for j in range(1, 7)] + [
    "test_x.py::test_over",
    "test_x.py::test_warn",
    "test_x.py::test_region::r",
]


def _check(gb, result, doc) -> None:
    assert result.ret == 1
    out = result.stdout.str()
    assert "INTERNALERROR" not in out + result.stderr.str()
    result.assert_outcomes(passed=8, failed=1, warnings=1)
    assert sorted(p.name for p in gb.path.glob("workers-*")) == ["workers-gw0", "workers-gw1"]
    entries = gb.entries(doc)
    assert sorted(entries) == sorted(IDS)
    for j in range(1, 7):
        assert entries[f"test_x.py::test_ok[{j}]"]["joules"] == pytest.approx(j)
        assert entries[f"test_x.py::test_ok[{j}]"]["outcome"] == "passed"
    assert entries["test_x.py::test_over"]["status"] == "over_budget"
    assert entries["test_x.py::test_over"]["outcome"] == "failed"
    assert entries["test_x.py::test_warn"]["status"] == "over_budget"
    assert entries["test_x.py::test_warn"]["outcome"] == "passed"
    assert entries["test_x.py::test_region::r"]["joules"] == pytest.approx(2)
    assert doc["totals"]["joules"] == pytest.approx(21 + 12.4 + 11)
    # one summary, in the controller, with a row per entry of every worker
    assert out.count("energy summary") == 1
    for entry_id in IDS:
        assert any(line.startswith(entry_id + " ") for line in out.splitlines()), entry_id
    result.stdout.fnmatch_lines(["energy budget exceeded: used 12.4 J, budget 10 J (124 %)"])
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning*test_warn*"])


def test_per_process_meter_under_xdist(gb) -> None:
    gb.pytester.makepyfile(test_x=TESTS)
    xml = gb.path / "junit.xml"
    result, doc = gb.run_json(
        "-n", "2", f"--junitxml={xml}", "--greenbudget-save", "-p", "no:cacheprovider", sub=True
    )
    _check(gb, result, doc)
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_over"].iter("property")}
    assert props["energy_status"] == "over_budget"
    assert float(props["energy_joules"]) == pytest.approx(12.4)
    assert cases["test_over"].find("failure") is not None
    # the controller saved the passed tests of both workers
    saved = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = saved["profiles"].values()
    assert sorted(profile["entries"]) == sorted(i for i in IDS if i != "test_x.py::test_over")


def test_machine_wide_meter_under_xdist(gb) -> None:
    gb.pytester.makepyfile(test_x=TESTS)
    result, doc = gb.run_json(
        "-n", "2", "--greenbudget-meter=fakemeter:MachineMeter", "-p", "no:cacheprovider",
        sub=True,
    )
    _check(gb, result, doc)
    assert [m["name"] for m in doc["meters"]] == ["machine"]
