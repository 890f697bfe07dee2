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
from pytest_greenbudget.meters.cpu_table import CPUS
from pytest_greenbudget.meters.estimate import (
    DEFAULT_WATTS_PER_CPU,
    MODEL_VERSION,
    EstimateMeter,
    model_from_cpuinfo,
    model_key,
    normalize_model,
    table_entry,
    threads_from_name,
    watts_per_cpu,
)

# SPEC section 13's bands: each brackets SPECpower, Cloud Carbon Footprint and the TDP share.
SPEC_BANDS = [
    ("AMD EPYC 7763 64-Core Processor", 1.2, 3.5),
    ("Intel(R) Xeon(R) Platinum 8480+", 1.5, 4.5),
    ("11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", 2.0, 7.0),
]


@pytest.mark.parametrize(("model", "low", "high"), SPEC_BANDS)
def test_spec_bands(model: str, low: float, high: float) -> None:
    watts = watts_per_cpu(model)
    assert low <= watts.watts_per_cpu <= high, watts
    assert "shipped CPU table" in watts.source


@pytest.mark.parametrize("vcpus", [2, 4, 64])
def test_the_vms_cpu_count_never_matters(monkeypatch: pytest.MonkeyPatch, vcpus: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: vcpus)
    meter = EstimateMeter(cpu_model="AMD EPYC 7763 64-Core Processor")
    assert meter.watts_per_cpu_second == pytest.approx(280 / 128)


@pytest.mark.parametrize("row", CPUS, ids=[r[0] for r in CPUS])
def test_every_table_row_is_plausible(row: tuple[str, str, float, int, int, str]) -> None:
    key, name, tdp, cores, threads, source = row
    assert model_key(name) == key  # the precomputed key matches the name
    assert table_entry(name) is not None
    assert 0 < cores <= threads <= 2 * cores
    assert source in {"V", "C", "E"}
    watts = watts_per_cpu(name)
    assert watts.watts_per_cpu == pytest.approx(tdp / threads)
    assert 0.3 <= watts.watts_per_cpu <= 15, (name, watts.watts_per_cpu)


def test_table_keys_are_unique() -> None:
    keys = [row[0] for row in CPUS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("model", [
    "AMD EPYC 7763 64-Core Processor", "AMD EPYC 7B13", "AMD EPYC 7R13 Processor",
    "AMD EPYC 9R14", "AMD EPYC 9B14", "AMD EPYC 7571", "AMD EPYC 7502 32-Core Processor",
    "AMD EPYC 7V12 64-Core Processor", "AMD EPYC 9V74 80-Core Processor",
    "Intel(R) Xeon(R) Platinum 8171M CPU @ 2.60GHz",
    "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz",
    "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz",
    "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    "Intel(R) Xeon(R) Platinum 8480+", "Intel(R) Xeon(R) Platinum 8488C",
    "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
    "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz",
    "Intel(R) Xeon(R) Platinum 8124M CPU @ 3.00GHz",
    "Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz",
    "Intel(R) Xeon(R) Platinum 8358 CPU @ 2.60GHz", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
    "Intel(R) Xeon(R) Platinum 8473C", "Intel(R) Xeon(R) CPU E5-2673 v3 @ 2.40GHz",
    "Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz", "ARM Neoverse-N1", "Ampere Altra",
    "Apple M1", "Apple M2", "Apple M3",
    "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz", "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz",
    "12th Gen Intel(R) Core(TM) i7-1255U", "13th Gen Intel(R) Core(TM) i9-13900K",
    "14th Gen Intel(R) Core(TM) i7-14700K", "Intel(R) Core(TM) Ultra 7 155H",
    "AMD Ryzen 7 3700X 8-Core Processor", "AMD Ryzen 9 5950X 16-Core Processor",
    "AMD Ryzen 7 7840U w/ Radeon 780M Graphics", "AMD Ryzen 5 5600U with Radeon Graphics",
    "AMD Ryzen 9 7950X 16-Core Processor",
])
def test_the_issues_models_are_in_the_table(model: str) -> None:
    assert table_entry(model) is not None, model_key(model)


@pytest.mark.parametrize(("model", "key"), [
    ("AMD EPYC 7763 64-Core Processor", "epyc 7763"),
    ("Intel(R) Xeon(R) Platinum 8480+", "xeon 8480+"),
    ("Intel(R) Core(TM) i7-1185G7 CPU @ 3.00GHz", "core i7-1185g7"),
    ("11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz", "core i7-1185g7"),
    ("Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz", "xeon e5-2673 v4"),
    ("AMD Ryzen 7 7840U w/ Radeon 780M Graphics", "ryzen 7 7840u"),
    ("  AMD   Ryzen 9 5950X 16-Core Processor  ", "ryzen 9 5950x"),
])
def test_model_key(model: str, key: str) -> None:
    assert model_key(model) == key


def test_cpu_watts_overrides_everything() -> None:
    watts = watts_per_cpu("AMD EPYC 7763 64-Core Processor", cpu_watts=1.25, cpu_tdp_watts=9.0)
    assert (watts.watts_per_cpu, watts.source) == (1.25, "cpu_watts setting")


def test_configured_tdp_is_divided_by_the_packages_threads() -> None:
    watts = watts_per_cpu("AMD EPYC 7763 64-Core Processor", cpu_tdp_watts=256.0)
    assert watts.watts_per_cpu == pytest.approx(2.0)
    assert "cpu_tdp_watts setting" in watts.source and "128 logical CPUs" in watts.source


def test_configured_tdp_without_known_threads_says_so() -> None:
    watts = watts_per_cpu("Totally Unknown CPU 9000", cpu_tdp_watts=95.0)
    assert watts.watts_per_cpu == DEFAULT_WATTS_PER_CPU
    assert "cpu_tdp_watts = 95 not used" in watts.source


def test_amd_core_count_in_the_name_with_codecarbons_tdp() -> None:
    model = "AMD EPYC 7643 48-Core Processor"  # not shipped; codecarbon has 'AMD EPYC 7643'
    assert table_entry(model) is None
    assert threads_from_name(model) == 96
    watts = watts_per_cpu(model)
    assert watts.watts_per_cpu == pytest.approx(225 / 96)
    assert "codecarbon CPU table row 'AMD EPYC 7643'" in watts.source
    assert "core count in the model name" in watts.source


def test_core_count_without_any_tdp_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "_cpu_table_text", lambda: "\nname,tdp\n")
    watts = watts_per_cpu("AMD EPYC 7643 48-Core Processor")
    assert watts.watts_per_cpu == DEFAULT_WATTS_PER_CPU
    assert "no TDP known" in watts.source


def test_codecarbon_is_never_divided_by_the_vm() -> None:
    # a model codecarbon knows but without threads per package: the default, not TDP / cpu_count
    watts = watts_per_cpu("Intel(R) Xeon(R) Gold 6126 CPU @ 2.60GHz")
    assert watts.watts_per_cpu == DEFAULT_WATTS_PER_CPU


@pytest.mark.parametrize("model", [
    "Intel(R) Xeon(R) Processor", "AMD EPYC", "AMD EPYC Processor", "Totally Unknown CPU 9000", "",
])
def test_unknown_model_gets_the_documented_default(model: str) -> None:
    watts = watts_per_cpu(model)
    assert watts.watts_per_cpu == DEFAULT_WATTS_PER_CPU == 2.76
    assert "Cloud Carbon Footprint" in watts.source
    assert repr(model) in watts.source


def test_ambiguous_codecarbon_row_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        estimate, "_cpu_table_text", lambda: "\nname,tdp\nacme x1,10.0\nacme x1,20.0\n"
    )
    assert estimate.codecarbon_tdp("ACME X1") is None


def test_missing_codecarbon_table_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise OSError("no file")

    monkeypatch.setattr(estimate, "_cpu_table_text", broken)
    assert watts_per_cpu("AMD EPYC 7643 48-Core Processor").watts_per_cpu == DEFAULT_WATTS_PER_CPU


@pytest.mark.parametrize(("model", "normalized"), [
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"),
    ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "Intel Core i7-8700"),
])
def test_normalize_model_for_codecarbon(model: str, normalized: str) -> None:
    assert normalize_model(model) == normalized


def test_arm_cpuinfo_names_the_neoverse_core() -> None:
    text = "processor\t: 0\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
    assert model_from_cpuinfo(text) == "ARM Neoverse-N1"
    assert watts_per_cpu("ARM Neoverse-N1").watts_per_cpu == pytest.approx(110 / 64)
    assert model_from_cpuinfo("model name\t: AMD EPYC 7763 64-Core Processor\n") == (
        "AMD EPYC 7763 64-Core Processor"
    )
    assert model_from_cpuinfo("CPU implementer\t: 0xc0\nCPU part\t: 0xac3\n") == ""


def test_meter_attributes() -> None:
    meter = EstimateMeter()
    assert meter.name == "estimate"
    assert meter.estimated is True
    assert meter.per_process is True
    assert meter.model_version == MODEL_VERSION == "2"
    assert isinstance(meter, Meter)
    assert meter.watts_per_cpu_second == meter.watts.watts_per_cpu
    assert meter.watts.source in meter.details
    assert set(meter.read()) == {"cpu"}


def test_meter_with_cpu_model_and_cpu_watts() -> None:
    meter = EstimateMeter(cpu_model="Intel(R) Xeon(R) Platinum 8480+")
    assert meter.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert meter.watts_per_cpu_second == pytest.approx(350 / 112)
    assert "'Intel(R) Xeon(R) Platinum 8480+'" in meter.details
    assert EstimateMeter(cpu_watts=3.0, cpu_model="x").watts_per_cpu_second == 3.0


def test_meter_uses_this_machines_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(estimate, "cpu_model", lambda: "AMD EPYC 7763 64-Core Processor")
    meter = EstimateMeter()
    assert meter.model == "AMD EPYC 7763 64-Core Processor"
    assert meter.watts_per_cpu_second == pytest.approx(280.0 / 128)


def _spin(cpu_seconds: float) -> None:
    start = time.process_time()
    x = 0
    while time.process_time() - start < cpu_seconds:
        for i in range(1000):
            x += i * i


def test_read_is_cumulative_and_monotonic() -> None:
    meter = EstimateMeter(cpu_watts=10.0)
    values = [meter.read()["cpu"] for _ in range(50)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[0] > 0  # cumulative since process start


def test_read_grows_with_busy_cpu_work() -> None:
    meter = EstimateMeter(cpu_watts=4.0)
    before_cpu = time.process_time()
    before = meter.read()["cpu"]
    _spin(0.2)
    after = meter.read()["cpu"]
    cpu_seconds = time.process_time() - before_cpu
    assert cpu_seconds >= 0.2
    expected = cpu_seconds * meter.watts_per_cpu_second
    assert after - before == pytest.approx(expected, rel=0.3)


def test_idle_wall_time_costs_almost_nothing() -> None:
    meter = EstimateMeter(cpu_watts=4.0)
    before = meter.read()["cpu"]
    time.sleep(0.2)
    used = meter.read()["cpu"] - before
    # sleeping 0.2 s must cost far less than 0.2 busy CPU seconds
    assert used < 0.2 * meter.watts_per_cpu_second * 0.25


def test_reaped_children_are_counted() -> None:
    meter = EstimateMeter(cpu_watts=4.0)
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
        from pytest_greenbudget.meters.estimate import EstimateMeter, watts_per_cpu
        watts_per_cpu("AMD EPYC 7763 64-Core Processor")
        watts_per_cpu("AMD EPYC 7643 48-Core Processor")
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
