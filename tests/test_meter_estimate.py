"""Unit tests for the ``estimate`` meter (SPEC section 5)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time

import pytest

from pytest_greenbudget.meters import estimate
from pytest_greenbudget.meters.base import Meter
from pytest_greenbudget.meters.estimate import (
    WATTS_PER_LOGICAL_CPU,
    EstimateMeter,
    Tdp,
    lookup_tdp,
    normalize_model,
)


def test_watts_per_logical_cpu_is_codecarbons_fallback() -> None:
    assert WATTS_PER_LOGICAL_CPU == 4.0


def test_tdp_from_setting_wins() -> None:
    tdp = lookup_tdp("AMD EPYC 7763 64-Core Processor", 8, configured=95.0)
    assert tdp == Tdp(95.0, "cpu_tdp_watts setting")


@pytest.mark.parametrize(("model", "watts"), [
    ("AMD EPYC 7763 64-Core Processor", 280.0),
    ("Intel(R) Xeon(R) Platinum 8480+", 350.0),
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", 65.0),
    ("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 205.0),
    ("AMD EPYC 9654 96-Core Processor", 360.0),
])
def test_tdp_from_codecarbon_table(model: str, watts: float) -> None:
    tdp = lookup_tdp(model, 2)
    assert tdp.watts == watts
    assert "codecarbon CPU table" in tdp.source


@pytest.mark.parametrize(("model", "normalized"), [
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"),
    ("Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Platinum 8480+"),
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "Intel Core i7-8700"),
    ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4"),
    ("  AMD   Ryzen 9 5950X 16-Core Processor  ", "AMD Ryzen 9 5950X"),
])
def test_normalize_model(model: str, normalized: str) -> None:
    assert normalize_model(model) == normalized


@pytest.mark.parametrize("model", [
    "Intel(R) Xeon(R) Processor",       # generic VM string: no row
    "AMD EPYC Processor",
    "Totally Unknown CPU 9000",
    "",
])
def test_unknown_model_falls_back_to_4w_per_logical_cpu(model: str) -> None:
    tdp = lookup_tdp(model, 6)
    assert tdp.watts == 24.0
    assert "4 W x 6 logical CPUs" in tdp.source
    assert repr(model) in tdp.source


def test_ambiguous_row_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        estimate,
        "_cpu_table_text",
        lambda: "\nname,tdp\nacme x1,10.0\nacme x1,20.0\nacme x2,30.0\n\"acme x2\",30.0\n",
    )
    ambiguous = lookup_tdp("ACME X1", 3)
    assert ambiguous.watts == 12.0
    assert "no single exact row" in ambiguous.source
    # duplicate rows with the same TDP are not ambiguous
    assert lookup_tdp("ACME X2", 3).watts == 30.0


def test_no_substring_matching(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "_cpu_table_text", lambda: "\nname,tdp\nacme x1,10.0\n")
    assert lookup_tdp("ACME X10", 2).watts == 8.0
    assert lookup_tdp("ACME X", 2).watts == 8.0


def test_missing_table_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise OSError("no file")

    monkeypatch.setattr(estimate, "_cpu_table_text", broken)
    assert lookup_tdp("AMD EPYC 7763 64-Core Processor", 2).watts == 8.0


def test_meter_attributes() -> None:
    meter = EstimateMeter()
    assert meter.name == "estimate"
    assert meter.estimated is True
    assert meter.per_process is True
    assert isinstance(meter, Meter)
    assert meter.logical_cpus == (os.cpu_count() or 1)
    assert meter.watts_per_cpu_second == pytest.approx(meter.tdp.watts / meter.logical_cpus)
    assert meter.tdp.source in meter.details
    assert set(meter.read()) == {"cpu"}


def test_meter_with_configured_tdp() -> None:
    meter = EstimateMeter(cpu_tdp_watts=100.0)
    assert meter.tdp == Tdp(100.0, "cpu_tdp_watts setting")
    assert meter.watts_per_cpu_second == pytest.approx(100.0 / meter.logical_cpus)
    assert "cpu_tdp_watts setting" in meter.details


def test_meter_uses_this_machines_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "cpu_model", lambda: "AMD EPYC 7763 64-Core Processor")
    meter = EstimateMeter()
    assert meter.tdp.watts == 280.0
    assert meter.watts_per_cpu_second == pytest.approx(280.0 / meter.logical_cpus)


def _spin(cpu_seconds: float) -> None:
    start = time.process_time()
    x = 0
    while time.process_time() - start < cpu_seconds:
        for i in range(1000):
            x += i * i


def test_read_is_cumulative_and_monotonic() -> None:
    meter = EstimateMeter(cpu_tdp_watts=10.0)
    values = [meter.read()["cpu"] for _ in range(50)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[0] > 0  # cumulative since process start


def test_read_grows_with_busy_cpu_work() -> None:
    meter = EstimateMeter(cpu_tdp_watts=64.0)
    before_cpu = time.process_time()
    before = meter.read()["cpu"]
    _spin(0.2)
    after = meter.read()["cpu"]
    cpu_seconds = time.process_time() - before_cpu
    assert cpu_seconds >= 0.2
    expected = cpu_seconds * meter.watts_per_cpu_second
    assert after - before == pytest.approx(expected, rel=0.3)


def test_idle_wall_time_costs_almost_nothing() -> None:
    meter = EstimateMeter(cpu_tdp_watts=64.0)
    before = meter.read()["cpu"]
    time.sleep(0.2)
    used = meter.read()["cpu"] - before
    # sleeping 0.2 s must cost far less than 0.2 busy CPU seconds
    assert used < 0.2 * meter.watts_per_cpu_second * 0.25


def test_reaped_children_are_counted() -> None:
    meter = EstimateMeter(cpu_tdp_watts=64.0)
    burn = textwrap.dedent(
        """
        import time
        start = time.process_time()
        x = 0
        while time.process_time() - start < 0.3:
            x += 1
        """
    )
    before = meter.read()["cpu"]
    parent_before = time.process_time()
    subprocess.run([sys.executable, "-c", burn], check=True, timeout=60)
    parent_cpu = time.process_time() - parent_before
    used = meter.read()["cpu"] - before
    # the child burnt at least 0.3 CPU seconds; the parent only waited
    assert used >= 0.3 * meter.watts_per_cpu_second
    assert used == pytest.approx((0.3 + parent_cpu) * meter.watts_per_cpu_second, rel=0.5)


def test_import_cost_of_pure_modules() -> None:
    """Importing and using the pure modules (and the estimate meter) imports no heavy module."""
    code = textwrap.dedent(
        """
        import sys
        import pytest_greenbudget.quantity, pytest_greenbudget.carbon
        import pytest_greenbudget.settings, pytest_greenbudget.budget
        import pytest_greenbudget.measure, pytest_greenbudget.report
        import pytest_greenbudget.meters.registry
        from pytest_greenbudget.meters.estimate import EstimateMeter, lookup_tdp
        lookup_tdp("AMD EPYC 7763 64-Core Processor", 2)
        EstimateMeter().read()
        heavy = [m for m in ("codecarbon", "pynvml", "pandas", "numpy", "torch")
                 if m in sys.modules]
        print(heavy)
        sys.exit(1 if heavy else 0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
