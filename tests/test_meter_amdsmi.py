"""The amdsmi meter against a fake ``amdsmi`` module placed in sys.modules."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_greenbudget.meters import amdsmi as amd
from pytest_greenbudget.meters.amdsmi import AmdSmiMeter, select_visible
from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.sanity import CounterUntrusted

RESOLUTION_UJ = 15.3


@dataclass
class FakeAmdGpu:
    uuid: str
    name: str = "AMD Instinct MI210"
    power_w: int | str = 300  # "N/A" where unsupported
    under_read: float = 1.0  # the counter's energy / the true energy (amdsmi#38: ~1/15)
    old_api: bool = False  # before amdsmi 6.2.1 the accumulator was called "power"
    true_uj: float = 1e9


class FakeAmdSmi:
    """amdsmi's functions the meter uses; the clock of the probe's sleep drives the counters."""

    def __init__(self, gpus: list[FakeAmdGpu]) -> None:
        self.gpus = gpus
        self.inits = self.shutdowns = 0
        mod = types.ModuleType("amdsmi")

        class AmdSmiException(Exception):
            pass

        class AmdSmiLibraryException(AmdSmiException):
            pass

        mod.AmdSmiException = AmdSmiException  # type: ignore[attr-defined]
        mod.AmdSmiLibraryException = AmdSmiLibraryException  # type: ignore[attr-defined]
        self.error = AmdSmiLibraryException

        def amdsmi_init(*_: object) -> None:
            self.inits += 1

        def amdsmi_shut_down() -> None:
            self.shutdowns += 1

        def amdsmi_get_processor_handles() -> list[FakeAmdGpu]:
            return list(self.gpus)

        def amdsmi_get_gpu_device_uuid(h: FakeAmdGpu) -> str:
            return h.uuid

        def amdsmi_get_gpu_asic_info(h: FakeAmdGpu) -> dict[str, object]:
            return {"market_name": h.name, "vendor_id": "0x1002"}

        def amdsmi_get_energy_count(h: FakeAmdGpu) -> dict[str, object]:
            acc = int(h.true_uj * h.under_read / RESOLUTION_UJ)
            key = "power" if h.old_api else "energy_accumulator"
            return {key: acc, "counter_resolution": RESOLUTION_UJ, "timestamp": 0}

        def amdsmi_get_power_info(h: FakeAmdGpu) -> dict[str, object]:
            return {"average_socket_power": h.power_w, "current_socket_power": "N/A"}

        for fn in (amdsmi_init, amdsmi_shut_down, amdsmi_get_processor_handles,
                   amdsmi_get_gpu_device_uuid, amdsmi_get_gpu_asic_info,
                   amdsmi_get_energy_count, amdsmi_get_power_info):
            setattr(mod, fn.__name__, fn)
        self.module = mod

    def advance(self, seconds: float) -> None:
        for gpu in self.gpus:
            if isinstance(gpu.power_w, int):
                gpu.true_uj += gpu.power_w * seconds * 1e6


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var in ("HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)

    def _install(gpus: list[FakeAmdGpu]) -> FakeAmdSmi:
        fake = FakeAmdSmi(gpus)
        monkeypatch.setitem(sys.modules, "amdsmi", fake.module)
        now = [0.0]

        def sleep(seconds: float) -> None:  # the probe's window passes instantly
            now[0] += seconds
            fake.advance(seconds)

        monkeypatch.setattr(amd, "_sleep", sleep)
        monkeypatch.setattr(amd, "_clock", lambda: now[0])
        return fake

    yield _install


def test_energy_is_accumulator_times_resolution(install: Any) -> None:
    fake = install([FakeAmdGpu("a1"), FakeAmdGpu("b2", name="AMD Radeon RX 7900 XTX")])
    meter = AmdSmiMeter()
    assert isinstance(meter, Meter)
    assert (meter.name, meter.estimated, meter.per_process) == ("amdsmi", False, False)
    assert meter.domains == ("gpu:0", "gpu:1")
    assert meter.gpus == ("AMD Instinct MI210", "AMD Radeon RX 7900 XTX")
    assert meter.read() == {"gpu:0": 0.0, "gpu:1": 0.0}
    fake.gpus[0].true_uj += 12.0e6
    reading = meter.read()
    assert reading["gpu:0"] == pytest.approx(12.0, abs=RESOLUTION_UJ * 2e-6)
    assert reading["gpu:1"] == 0.0
    assert "MI210" in meter.details and "a1" in meter.details
    meter.close()
    meter.close()
    assert (fake.inits, fake.shutdowns) == (1, 1)
    with pytest.raises(MeterError, match="closed"):
        meter.read()


def test_old_api_key(install: Any) -> None:
    fake = install([FakeAmdGpu("a1", old_api=True)])
    meter = AmdSmiMeter()
    fake.gpus[0].true_uj += 1e6
    assert meter.read()["gpu:0"] == pytest.approx(1.0, abs=1e-4)


def test_a_15x_under_reading_counter_is_not_trusted(install: Any) -> None:
    fake = install([FakeAmdGpu("a1", under_read=0.34 / 5.2)])  # ROCm/amdsmi#38
    with pytest.raises(CounterUntrusted) as info:
        AmdSmiMeter()
    text = str(info.value)
    assert "gpu:0 AMD Instinct MI210" in text and "ratio 0.065" in text and "amdsmi#38" in text
    assert fake.shutdowns == 1  # released on the way out


def test_within_zeus_band_is_trusted(install: Any) -> None:
    install([FakeAmdGpu("a1", under_read=0.5)])
    AmdSmiMeter().close()


def test_no_power_and_frozen_counter(install: Any) -> None:
    install([FakeAmdGpu("a1", power_w="N/A")])
    with pytest.raises(CounterUntrusted, match=r"did not move.*reports no power"):
        AmdSmiMeter()


@pytest.mark.parametrize(("env", "visible"), [
    ({}, [0, 1, 2, 3]),
    ({"HIP_VISIBLE_DEVICES": "2,0"}, [2, 0]),
    ({"CUDA_VISIBLE_DEVICES": "3"}, [3]),
    ({"HIP_VISIBLE_DEVICES": "1", "CUDA_VISIBLE_DEVICES": "3"}, [1]),
    ({"ROCR_VISIBLE_DEVICES": "1,3"}, [1, 3]),
    ({"ROCR_VISIBLE_DEVICES": "1,3", "HIP_VISIBLE_DEVICES": "1"}, [3]),
    ({"ROCR_VISIBLE_DEVICES": "GPU-ccc"}, [2]),
    ({"HIP_VISIBLE_DEVICES": "0,9,1"}, [0]),  # an invalid entry hides the rest
    ({"HIP_VISIBLE_DEVICES": ""}, []),
    ({"HIP_VISIBLE_DEVICES": "-1"}, []),
])
def test_visible_devices(env: dict[str, str], visible: list[int]) -> None:
    assert select_visible(["aaa", "bbb", "ccc", "ddd"], env) == visible


def test_visibility_applies_to_the_meter(install: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    install([FakeAmdGpu("a1"), FakeAmdGpu("b2", name="AMD Instinct MI300X")])
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "1")
    meter = AmdSmiMeter()
    assert meter.gpus == ("AMD Instinct MI300X",) and meter.domains == ("gpu:0",)
    meter.close()
    monkeypatch.setenv("HIP_VISIBLE_DEVICES", "")
    with pytest.raises(MeterUnavailable, match="no AMD GPU visible"):
        AmdSmiMeter()


def test_missing_amdsmi_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    with pytest.raises(MeterUnavailable, match="cannot import amdsmi"):
        AmdSmiMeter()


def test_reading_error_is_meter_error(install: Any) -> None:
    fake = install([FakeAmdGpu("a1")])
    meter = AmdSmiMeter()

    def broken(_: object) -> None:
        raise fake.error("GPU reset")

    fake.module.amdsmi_get_energy_count = broken
    with pytest.raises(MeterError, match="gpu:0 failed: GPU reset"):
        meter.read()
    meter.close()


def test_torch_hip_work_is_synchronized(install: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    install([FakeAmdGpu("a1")])
    synced: list[int] = []
    cuda = types.SimpleNamespace(
        is_initialized=lambda: True, is_available=lambda: True, device_count=lambda: 1,
        synchronize=synced.append,
    )  # fmt: skip
    torch = types.SimpleNamespace(
        cuda=cuda, version=types.SimpleNamespace(hip="6.2"), _C=types.SimpleNamespace()
    )
    monkeypatch.setitem(sys.modules, "torch", torch)
    meter = AmdSmiMeter()
    meter.read()
    assert synced == [0]
    torch.version.hip = None  # a CUDA build of torch drives NVIDIA GPUs, not these
    meter.read()
    assert synced == [0]
    meter.close()


def test_import_does_not_import_amdsmi() -> None:
    import subprocess

    code = ("import sys, pytest_greenbudget.meters.amdsmi, pytest_greenbudget.meters.registry\n"
            "assert 'amdsmi' not in sys.modules\n")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
