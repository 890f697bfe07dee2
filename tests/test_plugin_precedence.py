"""SPEC 3 precedence: command line > marker > longest matching pattern > table > default."""

from __future__ import annotations

import pytest

PYPROJECT = """
[tool.greenbudget]
default_budget = "5 J"
on_exceed = "{on_exceed}"
rounds = 2

[tool.greenbudget.budgets]
"test_prec.py::*" = {{ budget = "20 J", on_exceed = "warn" }}
"test_prec.py::test_long*" = {{ budget = "8 J", rounds = 3 }}
"test_prec.py::test_exact" = "30 J"
"""

TESTS = """
import pytest, fakemeter

@pytest.mark.energy_budget("50 J", on_exceed="fail", rounds=1)
def test_marker():
    fakemeter.spend(30)

@pytest.mark.energy_budget(on_exceed="fail")
def test_marker_without_budget():
    fakemeter.spend(25)

def test_pattern():
    fakemeter.spend(15)

def test_longest():
    fakemeter.spend(15)

def test_exact():
    fakemeter.spend(25)
"""

OTHER = """
import pytest, fakemeter

@pytest.mark.energy_budget()
def test_table_default():
    fakemeter.spend(6)

def test_unmeasured():
    fakemeter.spend(6)
"""


def _setup(gb, on_exceed: str = "fail") -> None:
    gb.pytester.makepyprojecttoml(PYPROJECT.format(on_exceed=on_exceed))
    gb.pytester.makepyfile(test_prec=TESTS, test_other=OTHER)


def test_budget_precedence(gb) -> None:
    _setup(gb)
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    got = {
        e["id"]: (e["budget"], e["status"], e["rounds"], e["outcome"]) for e in doc["entries"]
    }
    assert got == {
        # marker > pattern
        "test_prec.py::test_marker": ({"joules": 50.0}, "ok", 1, "passed"),
        # marker without budget: the pattern's budget, the marker's on_exceed
        "test_prec.py::test_marker_without_budget": ({"joules": 20.0}, "over_budget", 2, "failed"),
        # a pattern makes an unmarked test measured; on_exceed from the pattern
        "test_prec.py::test_pattern": ({"joules": 20.0}, "ok", 2, "passed"),
        # the longest matching pattern wins (its on_exceed unset: the shorter one's is not used)
        "test_prec.py::test_longest": ({"joules": 8.0}, "over_budget", 3, "failed"),
        # an exact node id is the longest pattern
        "test_prec.py::test_exact": ({"joules": 30.0}, "ok", 2, "passed"),
        # no pattern: the table's default
        "test_other.py::test_table_default": ({"joules": 5.0}, "over_budget", 2, "failed"),
    }
    result.assert_outcomes(passed=4, failed=3)


def test_longest_pattern_takes_all_its_keys_from_itself(gb) -> None:
    """When the longest pattern does not set on_exceed, the table's value applies."""
    _setup(gb, on_exceed="fail")
    result = gb.run("-k", "test_longest")
    result.assert_outcomes(failed=1)


def test_table_on_exceed_below_the_marker_and_pattern(gb) -> None:
    _setup(gb, on_exceed="warn")
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    outcomes = {e["id"]: e["outcome"] for e in doc["entries"]}
    assert outcomes["test_prec.py::test_marker_without_budget"] == "failed"  # marker: fail
    assert outcomes["test_prec.py::test_longest"] == "passed"  # table: warn
    assert outcomes["test_other.py::test_table_default"] == "passed"  # table: warn
    result.assert_outcomes(passed=6, failed=1, warnings=2)


def test_command_line_beats_the_marker(gb) -> None:
    _setup(gb)
    result, doc = gb.run_json(
        "--greenbudget-warn-only", "-W", "default::pytest_greenbudget.EnergyBudgetWarning"
    )
    assert {e["outcome"] for e in doc["entries"]} == {"passed"}
    assert sum(e["status"] == "over_budget" for e in doc["entries"]) == 3
    result.assert_outcomes(passed=7, warnings=3)
    assert result.ret == 0


def test_all_option_beats_measure_all_false(gb) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\nmeasure_all = false\n")
    gb.pytester.makepyfile(test_other=OTHER)
    _, doc = gb.run_json("--greenbudget-all")
    assert {e["id"] for e in doc["entries"]} == {
        "test_other.py::test_table_default",
        "test_other.py::test_unmeasured",
    }


@pytest.mark.parametrize("pattern", ["test_other.py::test_un*", "*unmeasured"])
def test_a_matching_pattern_makes_a_test_measured(gb, pattern) -> None:
    gb.pytester.makepyprojecttoml(f'[tool.greenbudget.budgets]\n"{pattern}" = 1\n')
    gb.pytester.makepyfile(test_other=OTHER)
    result, doc = gb.run_json()
    entries = gb.entries(doc)
    assert entries["test_other.py::test_unmeasured"]["budget"] == {"joules": 1.0}
    assert entries["test_other.py::test_unmeasured"]["status"] == "over_budget"
    result.assert_outcomes(passed=1, failed=1)
