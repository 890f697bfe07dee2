"""Issue 10, items 7, 8, 9 at the unit level: every delta, sum and product stays finite,
any meter fault but an interrupt is a MeterError, the read bound is a usable number."""

from __future__ import annotations

import json
import math

import pytest

from pytest_greenbudget import measure
from pytest_greenbudget.carbon import joules_to_grams
from pytest_greenbudget.entry import Entry
from pytest_greenbudget.measure import Measurement, MeterSet, Reading, delta, median
from pytest_greenbudget.meters.base import MeterError
from pytest_greenbudget.meters.estimate import EstimateMeter
from pytest_greenbudget.quantity import format_joules
from pytest_greenbudget.report import RunInfo, json_text, terminal_lines, totals

HUGE = 1.7e308


def test_delta_whose_difference_overflows_is_a_meter_error() -> None:
    with pytest.raises(MeterError, match="not a real reading"):
        delta(Reading({"cpu": -HUGE}, 0.0), Reading({"cpu": HUGE}, 1.0), lambda d: "m")


def test_delta_of_domains_whose_sum_overflows_is_a_meter_error() -> None:
    before = Reading({"a": 0.0, "b": 0.0}, 0.0)
    with pytest.raises(MeterError, match="not a real reading"):
        delta(before, Reading({"a": 1e308, "b": 1e308}, 1.0))


def test_sum_of_windows_that_overflows_is_a_meter_error() -> None:
    big = Measurement({"cpu": HUGE}, 1.0)
    with pytest.raises(MeterError, match="not a finite number"):
        big + big


def test_median_of_two_huge_rounds_is_finite() -> None:
    rounds = [Measurement({"cpu": HUGE}, HUGE), Measurement({"cpu": HUGE}, HUGE)]
    result = median(rounds)
    assert result.joules == HUGE and result.seconds == HUGE


def test_carbon_that_is_not_finite_is_a_meter_error() -> None:
    with pytest.raises(MeterError, match="not a finite mass"):
        joules_to_grams(HUGE, HUGE)


def test_estimate_product_that_overflows_is_a_meter_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_greenbudget.meters import estimate

    monkeypatch.setattr(estimate, "_process_time", lambda: 10.0)
    meter = EstimateMeter(cpu_tdp_watts=HUGE)
    meter.watts_per_cpu_second = HUGE
    with pytest.raises(MeterError, match="overflows"):
        meter.read()


def _entry(joules: float) -> Entry:
    return Entry(id="t", kind="test", status="ok", joules=joules, seconds=1.0, co2_grams=1.0)


def test_totals_that_overflow_are_null_in_json_and_printable() -> None:
    entries = [_entry(HUGE), _entry(HUGE)]
    assert totals(entries)["joules"] == math.inf
    info = RunInfo(meters=[], profile="p", intensity=475.0, intensity_source="x")
    doc = json.loads(json_text(entries, info))  # strict JSON: no Infinity
    assert doc["totals"]["joules"] is None
    assert any("total: inf" in line for line in terminal_lines(entries, info))
    assert format_joules(math.nan) == "nan uJ"


class _Exiting:
    name = "exiting"
    estimated = False
    per_process = True

    def read(self) -> dict[str, float]:
        raise SystemExit("bye")


@pytest.mark.parametrize("trusted", [False, True])
def test_meter_raising_system_exit_is_a_meter_error(
    trusted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if trusted:  # a built-in meter, read directly on the fast path
        meters = MeterSet([EstimateMeter()])
        meters.read()
        monkeypatch.setattr(meters, "_trusted", _Exiting().read)
    else:
        meters = MeterSet([_Exiting()])
    with pytest.raises(MeterError, match="SystemExit: bye"):
        meters.read()


def test_keyboard_interrupt_from_a_meter_is_not_swallowed() -> None:
    class Interrupted(_Exiting):
        def read(self) -> dict[str, float]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        MeterSet([Interrupted()]).read()


@pytest.mark.parametrize(
    ("raw", "value", "warned"),
    [
        (None, 30.0, False),
        ("2.5", 2.5, False),
        ("inf", measure.MAX_READ_TIMEOUT_S, True),
        ("1e10", measure.MAX_READ_TIMEOUT_S, True),
        ("nan", 30.0, True),
        ("0", 30.0, True),
        ("-3", 30.0, True),
        ("soon", 30.0, True),
    ],
)
def test_read_timeout_is_always_a_usable_bound(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, value: float, warned: bool
) -> None:
    if raw is None:
        monkeypatch.delenv(measure.READ_TIMEOUT_ENV, raising=False)
    else:
        monkeypatch.setenv(measure.READ_TIMEOUT_ENV, raw)
    timeout, notice = measure.read_timeout()
    assert timeout == value
    assert (notice is not None) == warned
    if notice is not None:
        assert f"{measure.READ_TIMEOUT_ENV}={raw!r}" in notice
