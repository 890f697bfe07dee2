"""Unit tests for marker parsing, policy precedence and verdicts (SPEC sections 2, 3, 7, 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_greenbudget.budget import (
    MARKER,
    MARKER_KEYWORDS,
    MarkerArgs,
    MarkerError,
    Policy,
    Verdict,
    judge,
    parse_marker,
    resolve_policy,
)
from pytest_greenbudget.quantity import Quantity
from pytest_greenbudget.settings import Pattern, Settings

WHERE = "@pytest.mark.energy_budget"


def test_marker_name_and_keywords() -> None:
    assert MARKER == "energy_budget"
    assert MARKER_KEYWORDS == (
        "budget", "tolerance", "on_exceed", "rounds", "warmup", "max_rounds"
    )


# -- parse_marker -----------------------------------------------------------------------


def test_empty_marker() -> None:
    assert parse_marker((), {}) == MarkerArgs()


@pytest.mark.parametrize(("args", "kwargs", "budget"), [
    (("10 J",), {}, Quantity("energy", 10.0)),
    ((), {"budget": "10 J"}, Quantity("energy", 10.0)),
    ((10,), {}, Quantity("energy", 10.0)),
    ((2.5,), {}, Quantity("energy", 2.5)),
    (("2 kWh",), {}, Quantity("energy", 7.2e6)),
    (("3 gCO2e",), {}, Quantity("carbon", 3.0)),
    ((0,), {}, Quantity("energy", 0.0)),
    ((None,), {}, None),
    ((), {"budget": None}, None),
])
def test_budget_positional_or_keyword(args: tuple[Any, ...], kwargs: dict[str, Any],
                                      budget: Quantity | None) -> None:
    assert parse_marker(args, kwargs).budget == budget


def test_all_keywords() -> None:
    parsed = parse_marker(
        ("5 J",), {"tolerance": 0.2, "on_exceed": "warn", "rounds": 3, "warmup": 1}
    )
    assert parsed == MarkerArgs(
        budget=Quantity("energy", 5.0), tolerance=0.2, on_exceed="warn", rounds=3, warmup=1
    )


def test_tolerance_int_is_accepted() -> None:
    parsed = parse_marker((), {"tolerance": 1})
    assert parsed.tolerance == 1.0 and isinstance(parsed.tolerance, float)


def test_zero_tolerance_and_warmup_allowed() -> None:
    assert parse_marker((), {"tolerance": 0, "warmup": 0}) == MarkerArgs(tolerance=0.0, warmup=0)


def test_two_positionals() -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker(("5 J", "6 J"), {})
    assert WHERE in str(info.value)
    assert "2" in str(info.value)


def test_budget_twice() -> None:
    with pytest.raises(MarkerError, match="twice") as info:
        parse_marker(("5 J",), {"budget": "6 J"})
    assert WHERE in str(info.value)


@pytest.mark.parametrize("keyword", ["tolerence", "budgets", "round", "on_exced", "phases"])
def test_unknown_keyword(keyword: str) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker((), {keyword: 1})
    text = str(info.value)
    assert WHERE in text
    assert repr(keyword) in text
    for known in MARKER_KEYWORDS:
        assert known in text


@pytest.mark.parametrize(("key", "value"), [
    ("budget", "5 Jx"),
    ("budget", "-1 J"),
    ("budget", -1),
    ("budget", True),
    ("budget", [5]),
    ("budget", "5 j"),
    ("budget", float("nan")),
    ("tolerance", -0.1),
    ("tolerance", "0.1"),
    ("tolerance", True),
    ("tolerance", float("inf")),
    ("on_exceed", "error"),
    ("on_exceed", True),
    ("on_exceed", "Warn"),
    ("rounds", 0),
    ("rounds", -1),
    ("rounds", 1.0),
    ("rounds", True),
    ("rounds", "3"),
    ("warmup", -1),
    ("warmup", 0.5),
    ("warmup", False),
    ("warmup", True),
])
def test_bad_values_name_marker_key_and_value(key: str, value: object) -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker((), {key: value})
    text = str(info.value)
    assert text.startswith(f"{WHERE}({key}={value!r})")


def test_bad_positional_budget_names_it() -> None:
    with pytest.raises(MarkerError) as info:
        parse_marker(("5 Jx",), {})
    assert f"{WHERE}(budget='5 Jx')" in str(info.value)


def test_bool_rounds_rejected_even_true_equals_one() -> None:
    # True == 1 in Python, but a bool is not an int here
    with pytest.raises(MarkerError):
        parse_marker((), {"rounds": True})


def test_marker_error_is_value_error() -> None:
    assert issubclass(MarkerError, ValueError)


@pytest.mark.parametrize("kwargs", [{"budget": 10**400}, {"tolerance": 10**400}])
def test_huge_int_is_marker_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(MarkerError):
        parse_marker((), kwargs)


def test_budget_overflowing_to_infinity_is_marker_error() -> None:
    with pytest.raises(MarkerError):
        parse_marker(("1e308 kWh",), {})


marker_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**6), st.floats(),
    st.text(max_size=10), st.sampled_from(["5 J", "1 kWh", "2 gCO2e", "fail", "warn", "0 J"]),
    st.lists(st.integers(), max_size=2), st.binary(max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(
    args=st.lists(marker_values, max_size=2),
    kwargs=st.dictionaries(
        st.one_of(st.sampled_from(MARKER_KEYWORDS), st.text(max_size=8)), marker_values,
        max_size=4,
    ),
)
def test_any_marker_args_give_marker_args_or_marker_error(
    args: list[object], kwargs: dict[str, object]
) -> None:
    try:
        parsed = parse_marker(args, kwargs)
    except MarkerError as exc:
        assert str(exc).startswith(WHERE)
    else:
        assert isinstance(parsed, MarkerArgs)
        if parsed.rounds is not None:
            assert parsed.rounds >= 1
        if parsed.warmup is not None:
            assert parsed.warmup >= 0
        if parsed.tolerance is not None:
            assert parsed.tolerance >= 0


@settings(max_examples=100, deadline=None)
@given(value=st.integers())
def test_any_int_for_any_keyword(value: int) -> None:
    for key in MARKER_KEYWORDS:
        try:
            parse_marker((), {key: value})
        except MarkerError:
            pass


# -- resolve_policy ----------------------------------------------------------------------

NODE = "tests/inference/test_a.py::test_x"


def make_settings(**kw: Any) -> Settings:
    return Settings(rootdir=Path("."), **kw)


def test_unmarked_unmatched_test_is_unmeasured() -> None:
    assert resolve_policy(make_settings(), NODE, None) is None


def test_marker_with_defaults() -> None:
    s = make_settings()
    assert resolve_policy(s, NODE, MarkerArgs()) == Policy(None, 0.10, "fail", 1, 0)


def test_table_values_apply_to_marked_test() -> None:
    s = make_settings(default_budget=Quantity("energy", 99.0), tolerance=0.3, on_exceed="warn",
                      rounds=4, warmup=2)
    assert resolve_policy(s, NODE, MarkerArgs()) == Policy(
        Quantity("energy", 99.0), 0.3, "warn", 4, 2, 8
    )


def test_marker_beats_pattern_beats_table() -> None:
    s = make_settings(
        default_budget=Quantity("energy", 99.0), tolerance=0.3, on_exceed="fail", rounds=4,
        warmup=2,
        patterns=(
            Pattern("tests/*", budget=Quantity("energy", 50.0), tolerance=0.4, rounds=6),
            Pattern("tests/inference/*", budget=Quantity("energy", 30.0), on_exceed="warn",
                    rounds=5),
        ),
    )
    # the longer pattern wins over the shorter; fields it lacks come from the table,
    # not from the shorter pattern
    assert resolve_policy(s, NODE, None) == Policy(
        Quantity("energy", 30.0), 0.3, "warn", 5, 2, 10
    )
    marker = MarkerArgs(budget=Quantity("energy", 10.0), rounds=2)
    assert resolve_policy(s, NODE, marker) == Policy(
        Quantity("energy", 10.0), 0.3, "warn", 2, 2, 4
    )
    marker2 = MarkerArgs(tolerance=0.0, on_exceed="fail", warmup=0)
    assert resolve_policy(s, NODE, marker2) == Policy(
        Quantity("energy", 30.0), 0.0, "fail", 5, 0, 10
    )


def test_marker_zero_values_are_not_treated_as_missing() -> None:
    s = make_settings(tolerance=0.3, warmup=2, patterns=(Pattern("tests/*", budget=Quantity(
        "energy", 5.0)),))
    policy = resolve_policy(s, NODE, MarkerArgs(budget=Quantity("energy", 0.0), tolerance=0.0,
                                                warmup=0))
    assert policy == Policy(Quantity("energy", 0.0), 0.0, "fail", 1, 0)


def test_pattern_makes_unmarked_test_measured() -> None:
    s = make_settings(patterns=(Pattern("tests/inference/*"),))
    assert resolve_policy(s, NODE, None) == Policy(None, 0.10, "fail", 1, 0)
    assert resolve_policy(s, "tests/other.py::t", None) is None


def test_measure_all_measures_unmarked() -> None:
    s = make_settings(measure_all=True, default_budget=Quantity("carbon", 1.0))
    assert resolve_policy(s, "x.py::t", None) == Policy(Quantity("carbon", 1.0), 0.10, "fail", 1, 0)


@pytest.mark.parametrize("marker_on_exceed", [None, "fail", "warn"])
@pytest.mark.parametrize("pattern_on_exceed", [None, "fail", "warn"])
@pytest.mark.parametrize("table_on_exceed", ["fail", "warn"])
def test_warn_only_overrides_everything(
    marker_on_exceed: Any, pattern_on_exceed: Any, table_on_exceed: Any
) -> None:
    s = make_settings(warn_only=True, on_exceed=table_on_exceed,
                      patterns=(Pattern("tests/*", on_exceed=pattern_on_exceed),))
    policy = resolve_policy(s, NODE, MarkerArgs(on_exceed=marker_on_exceed))
    assert policy is not None and policy.on_exceed == "warn"


def test_without_warn_only_marker_on_exceed_wins() -> None:
    s = make_settings(on_exceed="warn", patterns=(Pattern("tests/*", on_exceed="warn"),))
    assert resolve_policy(s, NODE, MarkerArgs(on_exceed="fail")).on_exceed == "fail"  # type: ignore[union-attr]


# -- judge -------------------------------------------------------------------------------


def j(joules: float, *, budget: Quantity | None = None, baseline: float | None = None,
      tolerance: float = 0.10, min_delta: float = 0.5, intensity: float = 475.0) -> Verdict:
    return judge(joules, budget=budget, baseline_joules=baseline, tolerance=tolerance,
                 min_delta=min_delta, intensity=intensity)


E10 = Quantity("energy", 10.0)


def test_new_without_budget_or_baseline() -> None:
    assert j(5.0) == Verdict("new")


def test_ok_within_budget_without_baseline() -> None:
    assert j(5.0, budget=E10) == Verdict("ok")


def test_exactly_at_budget_is_ok() -> None:
    assert j(10.0, budget=E10).status == "ok"


def test_over_budget_message_exact() -> None:
    v = j(12.4, budget=E10)
    assert v == Verdict("over_budget", "energy budget exceeded: used 12.4 J, budget 10 J (124 %)")
    assert v.is_finding


def test_over_budget_readable_units() -> None:
    v = j(2500.0, budget=Quantity("energy", 2000.0))
    assert v.message == "energy budget exceeded: used 2.5 kJ, budget 2 kJ (125 %)"


def test_over_zero_budget() -> None:
    v = j(0.001, budget=Quantity("energy", 0.0))
    assert v.status == "over_budget"
    assert j(0.0, budget=Quantity("energy", 0.0)).status == "ok"


def test_regression_message_exact() -> None:
    v = j(12.4, baseline=9.8)
    assert v == Verdict(
        "regressed", "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance 10 %)"
    )
    assert v.is_finding


def test_improvement_message_and_not_a_finding() -> None:
    v = j(5.0, baseline=10.0)
    assert v.status == "improved"
    assert v.message is not None
    assert v.message.startswith("energy improved: used 5 J, baseline 10 J (-50 %, tolerance 10 %)")
    assert "--greenbudget-save" in v.message
    assert not v.is_finding


def test_ok_within_tolerance() -> None:
    assert j(10.5, baseline=10.0, min_delta=0.0) == Verdict("ok")
    assert j(9.5, baseline=10.0, min_delta=0.0) == Verdict("ok")


@pytest.mark.parametrize(("baseline", "tolerance"), [(20.0, 0.25), (10.0, 0.5), (8.0, 0.125),
                                                     (100.0, 0.0), (10.0, 0.1)])
def test_exactly_at_tolerance_is_not_regression(baseline: float, tolerance: float) -> None:
    at = baseline * (1 + tolerance)
    assert j(at, baseline=baseline, tolerance=tolerance, min_delta=0.0).status == "ok"
    above = at * (1 + 1e-9) + 1e-9
    assert j(above, baseline=baseline, tolerance=tolerance, min_delta=0.0).status == "regressed"


@pytest.mark.parametrize(("baseline", "tolerance"), [(20.0, 0.25), (10.0, 0.5), (8.0, 0.125)])
def test_exactly_at_lower_tolerance_is_not_improvement(baseline: float, tolerance: float) -> None:
    at = baseline * (1 - tolerance)
    assert j(at, baseline=baseline, tolerance=tolerance, min_delta=0.0).status == "ok"
    below = at * (1 - 1e-9)
    assert j(below, baseline=baseline, tolerance=tolerance, min_delta=0.0).status == "improved"


def test_min_delta_edges() -> None:
    # 10 -> 10.5 is +5 %; tolerance 0 so only min_delta decides
    assert j(10.5, baseline=10.0, tolerance=0.0, min_delta=0.5).status == "ok"
    assert j(10.5001, baseline=10.0, tolerance=0.0, min_delta=0.5).status == "regressed"
    assert j(9.5, baseline=10.0, tolerance=0.0, min_delta=0.5).status == "ok"
    assert j(9.4999, baseline=10.0, tolerance=0.0, min_delta=0.5).status == "improved"


def test_min_delta_hides_large_relative_change_on_tiny_tests() -> None:
    assert j(0.3, baseline=0.1).status == "ok"       # +200 % but only 0.2 J
    assert j(0.1, baseline=0.3).status == "ok"
    assert j(0.7, baseline=0.1).status == "regressed"


def test_both_conditions_needed_for_regression() -> None:
    # absolute change 5 J > min_delta, but within 10 % of 100 J
    assert j(105.0, baseline=100.0).status == "ok"


def test_zero_baseline() -> None:
    v = j(1.0, baseline=0.0)
    assert v.status == "regressed"
    assert j(0.0, baseline=0.0).status == "ok"


def test_over_budget_beats_regressed() -> None:
    v = j(20.0, budget=E10, baseline=5.0)
    assert v.status == "over_budget"


def test_regressed_beats_within_budget_ok() -> None:
    assert j(9.0, budget=E10, baseline=5.0).status == "regressed"


def test_improved_beats_ok_and_new() -> None:
    assert j(2.0, budget=E10, baseline=5.0).status == "improved"


def test_ok_beats_new_with_baseline_only() -> None:
    assert j(5.0, baseline=5.0) == Verdict("ok")


def test_carbon_budget_converted_at_intensity() -> None:
    # 1 kWh at 475 g/kWh is 475 g
    budget = Quantity("carbon", 475.0)
    assert j(3.6e6, budget=budget).status == "ok"
    assert j(3.6e6 * 1.01, budget=budget).status == "over_budget"
    # the same energy on a cleaner grid passes
    assert j(3.6e6 * 1.5, budget=budget, intensity=300.0).status == "ok"
    assert j(3.6e6 * 1.5, budget=budget, intensity=400.0).status == "over_budget"


def test_carbon_budget_message() -> None:
    v = j(7.2e6, budget=Quantity("carbon", 475.0))
    assert v.status == "over_budget"
    assert v.message is not None
    assert v.message.startswith("carbon budget exceeded: used 950 gCO2e")
    assert "475 gCO2e/kWh" in v.message
    assert "budget 475 gCO2e (200 %)" in v.message


def test_carbon_budget_does_not_compare_joules_with_grams() -> None:
    # 100 J is far below 1 gCO2e at any sane intensity although 100 > 1
    assert j(100.0, budget=Quantity("carbon", 1.0)).status == "ok"


def test_energy_budget_does_not_use_intensity() -> None:
    assert j(5.0, budget=E10, intensity=1e12).status == "ok"


def test_unmeasured_is_a_status_but_never_judged() -> None:
    statuses = {j(x, budget=b, baseline=bl).status
                for x in (0.0, 1.0, 100.0) for b in (None, E10) for bl in (None, 1.0, 50.0)}
    assert statuses <= {"ok", "over_budget", "regressed", "improved", "new"}
    assert statuses == {"ok", "over_budget", "regressed", "improved", "new"}


@settings(max_examples=300, deadline=None)
@given(
    joules=st.floats(min_value=0, max_value=1e9),
    budget=st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
    baseline=st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
    tolerance=st.floats(min_value=0, max_value=5),
    min_delta=st.floats(min_value=0, max_value=100),
)
def test_judge_matches_the_spec_rules(joules: float, budget: float | None,
                                      baseline: float | None, tolerance: float,
                                      min_delta: float) -> None:
    quantity = None if budget is None else Quantity("energy", budget)
    v = j(joules, budget=quantity, baseline=baseline, tolerance=tolerance, min_delta=min_delta)
    if budget is not None and joules > budget:
        expected = "over_budget"
    elif baseline is not None and joules > baseline * (1 + tolerance) and (
        joules - baseline > min_delta
    ):
        expected = "regressed"
    elif baseline is not None and joules < baseline * (1 - tolerance) and (
        baseline - joules > min_delta
    ):
        expected = "improved"
    elif budget is None and baseline is None:
        expected = "new"
    else:
        expected = "ok"
    assert v.status == expected
    assert (v.message is not None) == (expected in ("over_budget", "regressed", "improved"))


def test_max_rounds_only_for_tests_that_allow_repeated_calls() -> None:
    # rounds = 1 and no max_rounds: never repeated
    assert resolve_policy(make_settings(), NODE, MarkerArgs()).max_rounds == 1  # type: ignore[union-attr]
    # the key, a pattern or a marker allows it; rounds always run
    s = make_settings(max_rounds=5)
    assert resolve_policy(s, NODE, MarkerArgs()).max_rounds == 5  # type: ignore[union-attr]
    assert resolve_policy(s, NODE, MarkerArgs(rounds=7)).max_rounds == 7  # type: ignore[union-attr]
    s = make_settings(patterns=(Pattern("tests/*", max_rounds=3),))
    assert resolve_policy(s, NODE, None).max_rounds == 3  # type: ignore[union-attr]
    assert resolve_policy(s, NODE, MarkerArgs(max_rounds=9)).max_rounds == 9  # type: ignore[union-attr]


def test_marker_max_rounds_below_rounds_is_an_error() -> None:
    with pytest.raises(MarkerError, match=r"max_rounds=2.*must be >= rounds \(3\)"):
        parse_marker((), {"rounds": 3, "max_rounds": 2})
    with pytest.raises(MarkerError, match="max_rounds=0"):
        parse_marker((), {"max_rounds": 0})
