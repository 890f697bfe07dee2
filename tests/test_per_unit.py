"""Unit tests for the pure parts of energy per unit of work (SPEC section 14; work.py).

Named test_per_unit.py, not test_work.py: pytester tests write a test_work.py of their own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_greenbudget.baseline import BaselineError, load_baseline, save_baseline
from pytest_greenbudget.budget import judge
from pytest_greenbudget.entry import Entry, EntryError
from pytest_greenbudget.quantity import Quantity, parse_quantity
from pytest_greenbudget.report import rows
from pytest_greenbudget.work import (
    PerUnit,
    UnitBaseline,
    Work,
    WorkError,
    WorkLog,
    baseline_fields,
    check_count,
    check_unit,
    choose,
    per_unit,
    unit_baseline,
    validate_call,
    work_from_json,
)

WHERE = "tests/t.py::test_x"


# -- counts and units -----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2.5, 1e-9, 10**20])
def test_good_counts(count: object) -> None:
    assert check_count(count) is None


@pytest.mark.parametrize(
    ("count", "fragment"),
    [
        (0, "> 0, got 0"),
        (-3, "> 0, got -3"),
        (float("nan"), "got nan"),
        (float("inf"), "got inf"),
        (True, "bool True"),
        ("10", "str '10'"),
        (None, "NoneType None"),
        (10**400, "finite number > 0"),
    ],
)
def test_bad_counts(count: object, fragment: str) -> None:
    problem = check_count(count)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("unit", ["sample", "token", "Image", "t2", "batch_of_8"])
def test_good_units(unit: str) -> None:
    assert check_unit(unit) is None


@pytest.mark.parametrize("unit", ["", "1x", "_x", "a-b", "a b", "a/b", "sämple", "x\n"])
def test_bad_unit_names(unit: str) -> None:
    problem = check_unit(unit)
    assert problem is not None and repr(unit) in problem


def test_unit_must_be_a_string() -> None:
    assert "must be a string, got int 3" in (check_unit(3) or "")


def test_work_log_adds_up_within_a_round_and_ignores_warmup() -> None:
    log = WorkLog(WHERE)
    log.add(None, 100, "sample")  # warm-up: validated, not counted
    log.add(0, 10, "sample")
    log.add(0, 5, "sample")
    log.add(1, 15.5, "sample")
    assert log.unit == "sample"
    assert log.counts == {0: 15.0, 1: 15.5}


def test_work_log_one_unit_per_entry() -> None:
    log = WorkLog(WHERE)
    log.add(0, 10, "sample")
    with pytest.raises(WorkError) as info:
        log.add(0, 3, "token")
    message = str(info.value)
    assert WHERE in message and "'token'" in message and "count=3" in message
    assert "already recorded work in 'sample'" in message


@pytest.mark.parametrize(("count", "unit"), [(0, "sample"), (True, "sample"), (5, "1x")])
def test_work_log_bad_call_names_test_unit_and_value(count: object, unit: object) -> None:
    with pytest.raises(WorkError) as info:
        WorkLog(WHERE).add(0, count, unit)
    message = str(info.value)
    assert message.startswith(f"{WHERE}: work(count={count!r}, unit={unit!r}): ")


def test_validate_call_records_nothing_but_checks() -> None:
    validate_call(WHERE, 3, "token")
    with pytest.raises(WorkError, match="count must be"):
        validate_call(WHERE, -1, "token")


# -- the per-unit figure -------------------------------------------------------------


def test_per_unit_is_the_median_of_per_round_ratios() -> None:
    log = WorkLog(WHERE, "sample", {0: 10.0, 1: 10.0, 2: 20.0})
    result = per_unit({0: 10.0, 1: 30.0, 2: 12.0}, log)
    assert result is not None
    assert result.samples == (1.0, 3.0, 0.6)
    assert result.joules_per_unit == 1.0  # not median(joules) / median(count) = 12 / 10
    assert result.work == Work(10.0, "sample")


def test_per_unit_skips_rounds_without_work_and_adds_extra() -> None:
    log = WorkLog(WHERE, "image", {1: 4.0})
    result = per_unit({0: 8.0, 1: 8.0}, log, extra_joules=2.0)
    assert result == PerUnit(Work(4.0, "image"), 2.5, (2.5,))


def test_per_unit_without_work_is_none() -> None:
    assert per_unit({0: 1.0}, WorkLog(WHERE)) is None
    assert per_unit({0: 1.0}, WorkLog(WHERE, "sample", {5: 1.0})) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1e6), st.floats(min_value=1e-3, max_value=1e6)
        ),
        min_size=1,
        max_size=9,
    )
)
def test_per_unit_lies_within_the_round_ratios(rounds: list[tuple[float, float]]) -> None:
    log = WorkLog(WHERE, "token", {i: c for i, (_, c) in enumerate(rounds)})
    result = per_unit({i: j for i, (j, _) in enumerate(rounds)}, log)
    assert result is not None
    ratios = [j / c for j, c in rounds]
    assert min(ratios) <= result.joules_per_unit <= max(ratios)


# -- JSON forms -----------------------------------------------------------------------


def test_work_json() -> None:
    assert Work(1200.0, "token").as_dict() == {"count": 1200, "unit": "token"}
    assert Work(2.5, "token").as_dict() == {"count": 2.5, "unit": "token"}
    assert work_from_json({"count": 3, "unit": "image"}) == Work(3.0, "image")
    assert work_from_json(None) is None
    for bad in ({"count": 0, "unit": "x"}, {"count": 1, "unit": "1x"}, [1, "x"], {"unit": "x"}):
        with pytest.raises(ValueError, match="work"):
            work_from_json(bad)


def test_entry_with_work_round_trips() -> None:
    entry = Entry(
        id=WHERE,
        kind="test",
        status="ok",
        joules=2.0,
        budget=Quantity("energy", 5e-4, "sample"),
        work=Work(4000.0, "sample"),
        joules_per_unit=5e-4,
        co2_grams_per_unit=6.6e-8,
        baseline_joules_per_unit=4.5e-4,
    )
    data = json.loads(json.dumps(entry.to_json()))
    assert Entry.from_json(data) == entry
    public = entry.report_json()
    assert public["work"] == {"count": 4000, "unit": "sample"}
    assert public["joules_per_unit"] == 5e-4
    assert public["co2_grams_per_unit"] == 6.6e-8
    assert public["budget"] == {"joules": 5e-4, "per": "sample"}
    assert Entry.from_json(public).budget == Quantity("energy", 5e-4, "sample")


def test_entry_without_work_has_null_per_unit_fields() -> None:
    public = Entry(id=WHERE, kind="test", status="new", joules=1.0).report_json()
    assert public["work"] is None and public["joules_per_unit"] is None


@pytest.mark.parametrize(
    "data",
    [
        {"id": "t", "status": "ok", "work": {"count": -1, "unit": "x"}},
        {"id": "t", "status": "ok", "budget": {"joules": 1, "per": "1x"}},
        {"id": "t", "status": "ok", "budget": {"joules": 1, "per": 3}},
    ],
)
def test_bad_work_json_is_an_entry_error(data: dict[str, object]) -> None:
    with pytest.raises(EntryError, match="t: "):
        Entry.from_json(data)


# -- choosing the numbers ------------------------------------------------------------

PER_SAMPLE = PerUnit(Work(1000.0, "sample"), 2e-3, (2e-3,))


def figures(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "budget_is_default": False,
        "baseline_joules": None,
        "baseline": None,
        "min_delta": 0.5,
    }
    args.update(kw)
    measured = args.pop("measured", PER_SAMPLE)
    budget = args.pop("budget", None)
    return choose(WHERE, 2.0, measured, budget, **args)  # type: ignore[arg-type]


def test_per_unit_budget_compares_the_per_unit_figure() -> None:
    budget = parse_quantity("1 mJ/sample")
    f = figures(budget=budget)
    assert f.budget == budget and f.budget_joules == 2e-3 and f.error is None
    assert f.per is None and f.joules == 2.0  # no per-unit baseline: totals


def test_total_budget_with_work_compares_totals() -> None:
    f = figures(budget=parse_quantity("5 J"))
    assert f.budget_joules == 2.0


def test_per_unit_budget_without_work_is_an_error_naming_test_unit_and_value() -> None:
    f = figures(budget=parse_quantity("0.5 mJ/sample"), measured=None)
    assert f.budget is None and f.entry_budget == parse_quantity("0.5 mJ/sample")
    assert f.error is not None
    assert WHERE in f.error and "500 uJ/sample" in f.error and "per sample" in f.error
    assert "recorded no work" in f.error


def test_per_unit_budget_in_another_unit_is_an_error() -> None:
    f = figures(budget=parse_quantity("2 J/token"))
    assert f.error is not None and "'sample', not 'token'" in f.error and "2 J/token" in f.error


def test_default_per_unit_budget_applies_only_to_its_unit() -> None:
    default = parse_quantity("1 mJ/sample")
    assert figures(budget=default, budget_is_default=True).budget == default
    for measured in (None, PerUnit(Work(5.0, "token"), 0.4, (0.4,))):
        f = figures(budget=default, budget_is_default=True, measured=measured)
        assert f.budget is None and f.entry_budget is None and f.error is None


def test_baseline_with_the_same_unit_compares_per_unit() -> None:
    f = figures(baseline_joules=1.0, baseline=UnitBaseline("sample", 1.9e-3))
    assert (f.joules, f.baseline_joules, f.per) == (2e-3, 1.9e-3, "sample")
    assert f.min_delta == pytest.approx(0.5 / 1000)


def test_baseline_in_another_unit_or_without_work_compares_totals() -> None:
    for baseline in (None, UnitBaseline("token", 1.0)):
        f = figures(baseline_joules=1.0, baseline=baseline)
        assert (f.joules, f.baseline_joules, f.per, f.min_delta) == (2.0, 1.0, None, 0.5)


def test_batch_that_doubles_is_not_a_regression_per_unit() -> None:
    """The issue's case: twice the samples, twice the joules, same joules per sample."""
    measured = PerUnit(Work(2000.0, "sample"), 1e-3, (1e-3,))
    f = choose(
        WHERE,
        2.0,
        measured,
        None,
        budget_is_default=False,
        baseline_joules=1.0,
        baseline=UnitBaseline("sample", 1e-3),
        min_delta=0.1,
    )
    v = judge(
        f.joules,
        budget=f.budget,
        baseline_joules=f.baseline_joules,
        tolerance=0.1,
        min_delta=f.min_delta,
        intensity=475,
        per=f.per,
        budget_joules=f.budget_joules,
    )
    assert v.status == "ok"
    # ... while 30 % more per sample, at the same batch, is one
    worse = PerUnit(Work(1000.0, "sample"), 1.3e-3, (1.3e-3,))
    f = choose(
        WHERE,
        1.3,
        worse,
        None,
        budget_is_default=False,
        baseline_joules=1.0,
        baseline=UnitBaseline("sample", 1e-3),
        min_delta=0.1,
    )
    v = judge(
        f.joules,
        budget=None,
        baseline_joules=f.baseline_joules,
        tolerance=0.1,
        min_delta=f.min_delta,
        intensity=475,
        per=f.per,
    )
    assert v.status == "regressed"
    assert v.message == (
        "energy regression: used 1.3 mJ/sample, baseline 1 mJ/sample (+30 %, tolerance 10 %)"
    )


def test_min_delta_is_shared_over_the_work() -> None:
    """+50 % per sample, but 0.05 J over the run's work: below min_delta, not a change."""
    f = choose(
        WHERE,
        0.15,
        PerUnit(Work(100.0, "sample"), 1.5e-3, (1.5e-3,)),
        None,
        budget_is_default=False,
        baseline_joules=0.1,
        baseline=UnitBaseline("sample", 1e-3),
        min_delta=0.1,
    )
    v = judge(
        f.joules,
        budget=None,
        baseline_joules=f.baseline_joules,
        tolerance=0.1,
        min_delta=f.min_delta,
        intensity=475,
        per=f.per,
    )
    assert v.status == "ok"


# -- verdict messages per unit ----------------------------------------------------------


def test_judge_per_unit_energy_budget_message() -> None:
    v = judge(
        3.0,
        budget=parse_quantity("0.5 mJ/sample"),
        baseline_joules=None,
        tolerance=0.1,
        min_delta=0.5,
        intensity=475,
        budget_joules=6e-4,
    )
    assert v.status == "over_budget"
    assert v.message == (
        "energy budget exceeded: used 600 uJ/sample, budget 500 uJ/sample (120 %)"
    )
    ok = judge(
        3.0,
        budget=parse_quantity("0.5 mJ/sample"),
        baseline_joules=None,
        tolerance=0.1,
        min_delta=0.5,
        intensity=475,
        budget_joules=4e-4,
    )
    assert ok.status == "ok"


def test_judge_per_unit_carbon_budget_message() -> None:
    joules = 3.6e6 / 475 * 25e-6  # 25 ugCO2e per image at 475 g/kWh
    v = judge(
        1.0,
        budget=parse_quantity("20 ugCO2e/image"),
        baseline_joules=None,
        tolerance=0.1,
        min_delta=0.5,
        intensity=475,
        budget_joules=joules,
    )
    assert v.status == "over_budget"
    assert v.message is not None
    assert v.message.startswith("carbon budget exceeded: used 25 ugCO2e/image (189 mJ/image")
    assert v.message.endswith("budget 20 ugCO2e/image (125 %)")


# -- baselines ----------------------------------------------------------------------------


def test_baseline_fields_and_unit_baseline() -> None:
    fields = baseline_fields(Work(10.0, "sample"), 0.2)
    assert fields == {"work": {"count": 10, "unit": "sample"}, "joules_per_unit": 0.2}
    assert baseline_fields(None, None) == {}
    assert unit_baseline({"joules": 2.0, **fields}) == UnitBaseline("sample", 0.2)
    # a hand-written entry without joules_per_unit: joules / count
    assert unit_baseline({"joules": 2.0, "work": {"count": 10, "unit": "x"}}) == UnitBaseline(
        "x", 0.2
    )
    assert unit_baseline({"joules": 2.0}) is None


def test_baseline_file_keeps_and_validates_work(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(
        path,
        "p",
        {},
        {
            "a": {"joules": 2.0, "seconds": 0.1, **baseline_fields(Work(10.0, "sample"), 0.2)},
            "b": {"joules": 1.0, "seconds": 0.1},
        },
    )
    baseline = load_baseline(path)
    assert baseline.per_unit("p", "a") == UnitBaseline("sample", 0.2)
    assert baseline.per_unit("p", "b") is None
    assert baseline.per_unit("p", "missing") is None
    assert baseline.joules("p", "a") == 2.0
    data = json.loads(path.read_text())
    assert data["profiles"]["p"]["entries"]["a"]["work"] == {"count": 10, "unit": "sample"}


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"work": {"count": 0, "unit": "x"}}, "entries.a.work"),
        ({"work": {"count": 1, "unit": "no spaces"}}, "entries.a.work"),
        ({"work": "ten"}, "entries.a.work"),
        ({"joules_per_unit": -1}, "entries.a.joules_per_unit"),
        ({"joules_per_unit": "1"}, "entries.a.joules_per_unit"),
    ],
)
def test_corrupt_work_in_baseline_names_the_key(
    tmp_path: Path, extra: dict[str, object], where: str
) -> None:
    path = tmp_path / "baseline.json"
    entry = {"joules": 1.0, **extra}
    doc = {"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, "entries": {
        "a": entry}}}}
    path.write_text(json.dumps(doc))
    with pytest.raises(BaselineError, match=f"profiles.p.{where}"):
        load_baseline(path)


def test_baseline_work_null_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    doc = {"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, "entries": {
        "a": {"joules": 1.0, "work": None, "joules_per_unit": None}}}}}
    path.write_text(json.dumps(doc))
    assert load_baseline(path).per_unit("p", "a") is None


# -- report cells ---------------------------------------------------------------------------


def test_report_cells_show_the_per_unit_figure() -> None:
    entry = Entry(
        id=WHERE,
        kind="test",
        status="ok",
        joules=12.3,
        co2_grams=1.6e-3,
        rounds=5,
        budget=parse_quantity("0.5 mJ/sample"),
        work=Work(30000.0, "sample"),
        joules_per_unit=4.1e-4,
        co2_grams_per_unit=5.4e-8,
        baseline_joules=6.0,
        baseline_joules_per_unit=3.9e-4,
    )
    _, energy, budget, baseline, _, _ = rows([entry])[0]
    assert energy == "12.3 J (410 uJ/sample) (median of 5)"
    assert budget == "500 uJ/sample (82 %)"
    assert baseline == "390 uJ/sample (+5 %)"


def test_report_carbon_per_unit_budget_cell_and_other_unit() -> None:
    entry = Entry(
        id=WHERE,
        kind="test",
        status="ok",
        joules=1.0,
        budget=parse_quantity("20 ugCO2e/image"),
        work=Work(10.0, "image"),
        joules_per_unit=0.1,
        co2_grams_per_unit=1.3e-5,
    )
    assert rows([entry])[0][2] == "20 ugCO2e/image (65 %)"
    entry.work = Work(10.0, "token")
    assert rows([entry])[0][2] == "20 ugCO2e/image"


def test_per_unit_figures_are_finite() -> None:
    result = per_unit({0: 0.0}, WorkLog(WHERE, "x", {0: 1e-300}))
    assert result is not None and math.isfinite(result.joules_per_unit)
