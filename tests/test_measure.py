"""Unit tests for combined meter readings, deltas and the median of rounds (SPEC 2, 5, 8, 11)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from pytest_greenbudget.measure import Measurement, MeterSet, Reading, delta, median
from pytest_greenbudget.meters.base import MeterError


class FakeMeter:
    """A scripted meter: returns its readings in order, or raises what it is given."""

    estimated = False

    def __init__(self, name: str, *readings: Any, **attrs: Any) -> None:
        self.name = name
        self.readings = list(readings)
        self.closed = 0
        for key, value in attrs.items():
            setattr(self, key, value)

    def read(self) -> Mapping[str, float]:
        item = self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[no-any-return]


def test_single_meter_domains_unprefixed() -> None:
    ms = MeterSet([FakeMeter("rapl", {"cpu:package-0": 1.0, "dram:0": 2.0})])
    reading = ms.read()
    assert dict(reading.joules) == {"cpu:package-0": 1.0, "dram:0": 2.0}
    assert ms.domains_by_meter == {"rapl": ["cpu:package-0", "dram:0"]}


def test_distinct_domains_of_several_meters_unprefixed() -> None:
    ms = MeterSet([FakeMeter("rapl", {"cpu": 1.0}), FakeMeter("nvml", {"gpu:0": 5.0})])
    assert dict(ms.read().joules) == {"cpu": 1.0, "gpu:0": 5.0}


def test_clashing_domains_are_prefixed_with_meter_name() -> None:
    ms = MeterSet([
        FakeMeter("estimate", {"cpu": 1.0}),
        FakeMeter("custom", {"cpu": 2.0, "gpu": 3.0}),
    ])
    first = ms.read()
    assert dict(first.joules) == {"estimate:cpu": 1.0, "custom:cpu": 2.0, "gpu": 3.0}
    # stable across readings
    assert set(ms.read().joules) == {"estimate:cpu", "custom:cpu", "gpu"}


def test_clash_sum_keeps_both_values() -> None:
    a = FakeMeter("a", {"cpu": 0.0}, {"cpu": 3.0})
    b = FakeMeter("b", {"cpu": 0.0}, {"cpu": 4.0})
    ms = MeterSet([a, b])
    m = delta(ms.read(), ms.read())
    assert m.joules == 7.0
    assert dict(m.domains) == {"a:cpu": 3.0, "b:cpu": 4.0}


def test_values_converted_to_float_and_str_keys() -> None:
    ms = MeterSet([FakeMeter("m", {0: 5})])
    reading = ms.read()
    assert dict(reading.joules) == {"0": 5.0}
    assert isinstance(reading.joules["0"], float)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_reading_is_meter_error(bad: float) -> None:
    ms = MeterSet([FakeMeter("good", {"a": 1.0}), FakeMeter("flaky", {"b": bad})])
    with pytest.raises(MeterError) as info:
        ms.read()
    assert "'flaky'" in str(info.value)
    assert "'b'" in str(info.value)


@pytest.mark.parametrize("exc", [RuntimeError("sensor gone"), OSError(5, "I/O error"),
                                 ValueError(), KeyError("x")])
def test_raising_meter_is_meter_error_naming_it(exc: Exception) -> None:
    ms = MeterSet([FakeMeter("good", {"a": 1.0}), FakeMeter("broken", exc)])
    with pytest.raises(MeterError) as info:
        ms.read()
    text = str(info.value)
    assert "'broken'" in text
    assert type(exc).__name__ in text
    assert info.value.__cause__ is exc


def test_raising_meter_message_includes_reason() -> None:
    ms = MeterSet([FakeMeter("broken", RuntimeError("sensor gone"))])
    with pytest.raises(MeterError, match="sensor gone"):
        ms.read()


@pytest.mark.parametrize("bad", [None, 5, {"cpu": "lots"}, {"cpu": None}, ["cpu"]])
def test_malformed_reading_is_meter_error(bad: object) -> None:
    ms = MeterSet([FakeMeter("odd", bad)])
    with pytest.raises(MeterError, match="'odd'"):
        ms.read()


def test_meter_error_propagates_as_meter_error() -> None:
    ms = MeterSet([FakeMeter("m", MeterError("closed"))])
    with pytest.raises(MeterError, match=r"'m'.*closed"):
        ms.read()


def test_keyboard_interrupt_is_not_swallowed() -> None:
    ms = MeterSet([FakeMeter("m", KeyboardInterrupt())])
    with pytest.raises(KeyboardInterrupt):
        ms.read()


def test_names_and_estimated() -> None:
    a, b = FakeMeter("rapl", {}), FakeMeter("estimate", {}, estimated=True)
    assert MeterSet([a, b]).names == ["rapl", "estimate"]
    assert MeterSet([a, b]).estimated is True
    assert MeterSet([a]).estimated is False


@pytest.mark.parametrize(("flags", "expected"), [
    ((True,), True),
    ((True, True), True),
    ((True, False), False),
    ((True, None), False),        # None: attribute absent -> machine-wide
    ((None,), False),
    ((False,), False),
    (("yes",), False),            # only a real True counts
    ((1,), False),
])
def test_per_process_only_when_all_meters_say_so(flags: tuple[Any, ...], expected: bool) -> None:
    meters = []
    for i, flag in enumerate(flags):
        extra = {} if flag is None else {"per_process": flag}
        meters.append(FakeMeter(f"m{i}", {}, **extra))
    assert MeterSet(meters).per_process is expected


def test_resolution_is_the_coarsest() -> None:
    ms = MeterSet([FakeMeter("a", {}, resolution_s=0.001), FakeMeter("b", {}),
                   FakeMeter("c", {}, resolution_s=0.1)])
    assert ms.resolution_s == 0.1


def test_close_calls_every_meter_and_swallows_errors() -> None:
    calls: list[str] = []

    class Closing(FakeMeter):
        def close(self) -> None:
            calls.append(self.name)
            if self.name == "bad":
                raise RuntimeError("close failed")

    ms = MeterSet([Closing("bad", {}), FakeMeter("noclose", {}), Closing("good", {})])
    ms.close()
    assert calls == ["bad", "good"]


def test_close_ignores_non_callable_close() -> None:
    MeterSet([FakeMeter("m", {}, close=None)]).close()


# -- delta ------------------------------------------------------------------------------


def test_delta() -> None:
    m = delta(Reading({"a": 1.0, "b": 10.0}, 1.0), Reading({"a": 4.0, "b": 10.5}, 3.5))
    assert dict(m.domains) == {"a": 3.0, "b": 0.5}
    assert m.seconds == 2.5
    assert m.joules == 3.5
    assert m.rounds == 1


def test_delta_zero_is_fine() -> None:
    m = delta(Reading({"a": 1.0}, 1.0), Reading({"a": 1.0}, 1.0))
    assert m.joules == 0.0 and m.seconds == 0.0


def test_delta_backwards_is_meter_error() -> None:
    with pytest.raises(MeterError, match="'a' went backwards"):
        delta(Reading({"a": 5.0}, 0.0), Reading({"a": 4.0}, 1.0))


def test_delta_new_domain_is_meter_error() -> None:
    with pytest.raises(MeterError, match="'b' appeared"):
        delta(Reading({"a": 5.0}, 0.0), Reading({"a": 6.0, "b": 1.0}, 1.0))


def test_delta_through_meter_set() -> None:
    ms = MeterSet([FakeMeter("m", {"cpu": 100.0}, {"cpu": 112.5})])
    m = delta(ms.read(), ms.read())
    assert m.joules == 12.5
    assert m.seconds >= 0


def test_delta_backwards_through_meter_set() -> None:
    ms = MeterSet([FakeMeter("m", {"cpu": 100.0}, {"cpu": 99.0})])
    before = ms.read()
    with pytest.raises(MeterError):
        delta(before, ms.read())


# -- median and Measurement --------------------------------------------------------------


def mm(joules: float, seconds: float = 1.0, **domains: float) -> Measurement:
    return Measurement(domains or {"cpu": joules}, seconds)


def test_median_single_round_is_itself() -> None:
    m = mm(3.0)
    assert median([m]) is m


def test_median_odd_rounds() -> None:
    result = median([mm(5.0, 0.5), mm(1.0, 0.1), mm(3.0, 0.3)])
    assert result.joules == 3.0
    assert result.seconds == 0.3
    assert result.rounds == 3
    assert dict(result.domains) == {"cpu": 3.0}


def test_median_even_rounds_averages_the_middle_two() -> None:
    result = median([mm(1.0, 1.0), mm(10.0, 4.0), mm(3.0, 2.0), mm(5.0, 3.0)])
    assert result.joules == 4.0
    assert result.seconds == 2.5
    assert result.rounds == 4


def test_median_is_robust_to_one_outlier() -> None:
    result = median([mm(10.0), mm(11.0), mm(10000.0), mm(9.0), mm(10.5)])
    assert result.joules == 10.5


def test_median_total_is_median_of_totals_not_sum_of_domain_medians() -> None:
    rounds = [
        Measurement({"cpu": 1.0, "gpu": 10.0}, 1.0),
        Measurement({"cpu": 10.0, "gpu": 1.0}, 1.0),
        Measurement({"cpu": 5.0, "gpu": 5.0}, 1.0),
    ]
    result = median(rounds)
    assert dict(result.domains) == {"cpu": 5.0, "gpu": 5.0}  # domain medians sum to 10
    assert result.joules == 11.0  # totals 11, 11, 10


def test_median_total_of_uneven_rounds() -> None:
    rounds = [
        Measurement({"cpu": 1.0, "gpu": 10.0}, 1.0),   # 11
        Measurement({"cpu": 10.0, "gpu": 1.0}, 1.0),   # 11
        Measurement({"cpu": 2.0, "gpu": 2.0}, 1.0),    # 4
    ]
    result = median(rounds)
    assert result.joules == 11.0
    assert dict(result.domains) == {"cpu": 2.0, "gpu": 2.0}


def test_median_domain_missing_in_a_round_counts_as_zero() -> None:
    result = median([Measurement({"a": 1.0}, 1.0), Measurement({"a": 3.0, "b": 2.0}, 1.0),
                     Measurement({"a": 2.0, "b": 4.0}, 1.0)])
    assert dict(result.domains) == {"a": 2.0, "b": 2.0}


def test_measurement_joules_sums_domains_exactly() -> None:
    m = Measurement({"a": 0.1, "b": 0.2, "c": 0.3}, 1.0)
    assert m.joules == math.fsum([0.1, 0.2, 0.3])


def test_measurement_total_overrides_sum() -> None:
    assert Measurement({"a": 1.0}, 1.0, total=7.0).joules == 7.0


def test_measurement_add_for_setup_call_teardown() -> None:
    setup = Measurement({"cpu": 1.0}, 0.1)
    call = median([mm(3.0, 1.0), mm(5.0, 2.0), mm(4.0, 1.5)])
    teardown = Measurement({"cpu": 0.5, "gpu": 2.0}, 0.2)
    total = setup + call + teardown
    assert total.joules == pytest.approx(1.0 + 4.0 + 2.5)
    assert dict(total.domains) == {"cpu": pytest.approx(5.5), "gpu": 2.0}
    assert total.seconds == pytest.approx(0.1 + 1.5 + 0.2)


def test_same_named_meters_with_same_domain_are_both_counted() -> None:
    a = FakeMeter("estimate", {"cpu": 0.0}, {"cpu": 3.0})
    b = FakeMeter("estimate", {"cpu": 0.0}, {"cpu": 4.0})
    ms = MeterSet([a, b])
    m = delta(ms.read(), ms.read())
    assert m.joules == 7.0
