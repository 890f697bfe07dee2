"""Counter sanity (SPEC section 13): a counter that does not move, or implies absurd power."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fake_powercap import MovingCounters, build_flat_tree

from pytest_greenbudget.meters.rapl import RaplMeter
from pytest_greenbudget.meters.sanity import RATIO_BAND, compare_with_power, probe_counter


def _counter(step_j: float) -> tuple[object, list[float]]:
    """A read() whose domain advances ``step_j`` per call, on a clock of 1 ms per call."""
    state = [0.0]

    def read() -> dict[str, float]:
        state[0] += step_j
        return {"cpu:package-0": state[0], "dram:0": 0.0}

    return read, state


def _clock(step: float = 0.001):  # type: ignore[no-untyped-def]
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_a_moving_plausible_counter_is_trusted() -> None:
    read, _ = _counter(0.02)  # 20 mJ per ms: 20 W
    assert probe_counter(read, ["cpu:package-0"], clock=_clock()) is None  # type: ignore[arg-type]


def test_a_frozen_counter_is_not_trusted() -> None:
    read, _ = _counter(0.0)
    problem = probe_counter(read, ["cpu:package-0"], clock=_clock())  # type: ignore[arg-type]
    assert problem is not None and "cpu:package-0 did not move" in problem


@pytest.mark.parametrize(("step_j", "shown"), [(5.0, "5e+03 W"), (0.0001, "0.1 W")])
def test_implausible_power_is_not_trusted(step_j: float, shown: str) -> None:
    read, _ = _counter(step_j)
    problem = probe_counter(read, ["cpu:package-0"], clock=_clock())  # type: ignore[arg-type]
    assert problem is not None
    assert shown in problem and "outside the plausible 0.5 to 1000 W" in problem


def test_dram_is_not_required_to_move() -> None:
    read, _ = _counter(0.02)
    assert probe_counter(read, ["cpu:package-0"], clock=_clock()) is None  # type: ignore[arg-type]
    problem = probe_counter(read, ["cpu:package-0", "dram:0"], clock=_clock())  # type: ignore[arg-type]
    assert problem is not None and "dram:0" in problem


def test_probe_is_cheap_on_a_live_counter(tmp_path: Path) -> None:
    root = build_flat_tree(tmp_path / "pc", packages=2)
    with MovingCounters(root, watts=40.0):
        meter = RaplMeter(root)
        calls = [0]

        def read() -> object:
            calls[0] += 1
            return meter.read()

        assert probe_counter(read, ["cpu:package-0", "cpu:package-1"]) is None  # type: ignore[arg-type]
        meter.close()
    assert calls[0] <= 200  # reads every ~0.5 ms of spinning: a live counter stops it in ~5 ms


@pytest.mark.parametrize(("joules", "trusted"), [
    (50.0, True),    # 1x
    (5.5, True),     # ~0.11x
    (3.4, False),    # ROCm/amdsmi#38: 0.34 kJ where 5.2 kJ was drawn, ~15x low
    (600.0, False),  # 12x high
])
def test_compare_with_power(joules: float, trusted: bool) -> None:
    problem = compare_with_power(joules, 500.0, 0.1, what="gpu:0 MI210")
    assert (problem is None) is trusted
    if problem:
        assert "gpu:0 MI210" in problem and f"{RATIO_BAND[0]:g} to {RATIO_BAND[1]:g}" in problem


def test_no_power_to_compare_with_says_nothing() -> None:
    assert compare_with_power(0.0, 0.0, 0.1, what="x") is None
