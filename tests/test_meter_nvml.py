"""The nvml meter against a fake ``pynvml`` module (the meter imports it by name)."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_greenbudget.meters import nvml
from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.nvml import NvmlMeter, parse_visible_devices, visible_gpus

UUIDS = [
    "GPU-aaaa1111-0000-0000-0000-000000000000",
    "GPU-bbbb2222-0000-0000-0000-000000000000",
    "GPU-cccc3333-0000-0000-0000-000000000000",
]


@dataclass
class FakeGpu:
    uuid: str
    name: str
    energy_mj: int | None = 0  # None: no counter (pre-Volta)
    power_mw: int | None = 100_000  # None: no power reading either (MIG slice)
    broken: bool = False  # every query raises NVMLError_GpuIsLost


class FakeNvml:
    """A stand-in for pynvml with its error classes and the functions the meter uses."""

    def __init__(self, gpus: list[FakeGpu], log: list[str] | None = None) -> None:
        self.gpus = gpus
        self.log = log if log is not None else []
        self.inits = 0
        self.shutdowns = 0
        self.power_calls = 0
        self.init_error: type[Exception] | None = None
        self.opened_by_uuid: list[str] = []
        self.module = self._build_module()

    def _build_module(self) -> types.ModuleType:
        mod = types.ModuleType("pynvml")
        strings = {
            2: "Invalid Argument",
            3: "Not Supported",
            9: "Driver Not Loaded",
            12: "NVML Shared Library Not Found",
            15: "GPU is lost",
        }

        class NVMLError(Exception):
            value = 999

            def __str__(self) -> str:
                return strings.get(self.value, "Unknown Error")

        def subclass(name: str, value: int) -> type[NVMLError]:
            cls = type(name, (NVMLError,), {"value": value})
            cls.__module__ = "pynvml"
            setattr(mod, name, cls)
            return cls

        mod.NVMLError = NVMLError  # type: ignore[attr-defined]
        self.InvalidArgument = subclass("NVMLError_InvalidArgument", 2)
        self.NotSupported = subclass("NVMLError_NotSupported", 3)
        self.DriverNotLoaded = subclass("NVMLError_DriverNotLoaded", 9)
        self.LibraryNotFound = subclass("NVMLError_LibraryNotFound", 12)
        self.GpuIsLost = subclass("NVMLError_GpuIsLost", 15)
        self.NVMLError = NVMLError

        def check(gpu: FakeGpu) -> FakeGpu:
            if gpu.broken:
                raise self.GpuIsLost()
            return gpu

        def nvmlInit() -> None:
            if self.init_error is not None:
                raise self.init_error()
            self.inits += 1

        def nvmlShutdown() -> None:
            self.shutdowns += 1

        def nvmlDeviceGetCount() -> int:
            return len(self.gpus)

        def nvmlDeviceGetHandleByIndex(index: int) -> FakeGpu:
            if not 0 <= index < len(self.gpus):
                raise self.InvalidArgument()
            return self.gpus[index]

        def nvmlDeviceGetHandleByUUID(uuid: str) -> FakeGpu:
            for gpu in self.gpus:
                if gpu.uuid == uuid:  # NVML wants the full UUID
                    self.opened_by_uuid.append(uuid)
                    return gpu
            raise self.InvalidArgument()

        def nvmlDeviceGetUUID(handle: FakeGpu) -> str:
            return check(handle).uuid

        def nvmlDeviceGetName(handle: FakeGpu) -> str:
            return check(handle).name

        def nvmlDeviceGetTotalEnergyConsumption(handle: FakeGpu) -> int:
            check(handle)
            if handle.energy_mj is None:
                raise self.NotSupported()
            self.log.append(f"energy {handle.uuid}")
            return handle.energy_mj

        def nvmlDeviceGetPowerUsage(handle: FakeGpu) -> int:
            check(handle)
            if handle.power_mw is None:
                raise self.NotSupported()
            self.power_calls += 1
            self.log.append(f"power {handle.uuid}")
            return handle.power_mw

        for fn in (
            nvmlInit,
            nvmlShutdown,
            nvmlDeviceGetCount,
            nvmlDeviceGetHandleByIndex,
            nvmlDeviceGetHandleByUUID,
            nvmlDeviceGetUUID,
            nvmlDeviceGetName,
            nvmlDeviceGetTotalEnergyConsumption,
            nvmlDeviceGetPowerUsage,
        ):
            setattr(mod, fn.__name__, fn)
        return mod


def gpus3() -> list[FakeGpu]:
    return [
        FakeGpu(UUIDS[0], "NVIDIA H100 80GB HBM3", energy_mj=1_000_000),
        FakeGpu(UUIDS[1], "NVIDIA A100-SXM4-40GB", energy_mj=2_000_000),
        FakeGpu(UUIDS[2], "Tesla V100-SXM2-16GB", energy_mj=3_000_000),
    ]


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """install(gpus) -> FakeNvml, placed in sys.modules as ``pynvml``."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    meters: list[NvmlMeter] = []

    def _install(gpus: list[FakeGpu], log: list[str] | None = None) -> FakeNvml:
        fake = FakeNvml(gpus, log)
        monkeypatch.setitem(sys.modules, "pynvml", fake.module)
        return fake

    _install.meters = meters  # type: ignore[attr-defined]
    yield _install
    for meter in meters:
        meter.close()


def test_fake_mirrors_the_real_pynvml_names() -> None:
    import pynvml as real  # nvidia-ml-py, installed with the plugin

    fake = FakeNvml([]).module
    for name in dir(fake):
        if name.startswith("nvml") or name.startswith("NVMLError"):
            assert hasattr(real, name), name
    assert issubclass(real.NVMLError_NotSupported, real.NVMLError)


def test_volta_counter(install: Any) -> None:
    fake = install(gpus3())
    meter = NvmlMeter()
    assert isinstance(meter, Meter)
    assert (meter.name, meter.estimated, meter.per_process) == ("nvml", False, False)
    assert meter.resolution_s == 0.1
    assert meter.domains == ("gpu:0", "gpu:1", "gpu:2")
    assert meter.methods == ("counter", "counter", "counter")
    assert meter.gpus == ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "Tesla V100-SXM2-16GB")
    assert fake.opened_by_uuid == UUIDS
    assert meter.read() == {"gpu:0": 0.0, "gpu:1": 0.0, "gpu:2": 0.0}
    fake.gpus[0].energy_mj += 12_345  # 12.345 J
    fake.gpus[2].energy_mj += 500
    assert meter.read() == pytest.approx({"gpu:0": 12.345, "gpu:1": 0.0, "gpu:2": 0.5})
    assert UUIDS[0] in meter.details and "NVIDIA H100 80GB HBM3" in meter.details
    assert "energy counter" in meter.details
    assert meter._thread is None  # no sampling thread without power-sampled GPUs
    meter.close()


def test_pre_volta_power_integration_includes_the_edge(
    install: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install([FakeGpu(UUIDS[0], "Tesla P100-PCIE-16GB", energy_mj=None, power_mw=100_000)])
    now = [10.0]
    monkeypatch.setattr(nvml, "_clock", lambda: now[0])
    monkeypatch.setattr(nvml, "SAMPLE_INTERVAL_S", 3600.0)  # only read-time samples
    meter = NvmlMeter()
    assert meter.methods == ("power",)
    assert meter.estimated is True
    assert "power sampled every" in meter.details and "(estimated)" in meter.details
    now[0] = 11.0
    fake.gpus[0].power_mw = 200_000
    # Trapezoid over [10, 11]: (100 W + 200 W) / 2 x 1 s. Without the sample taken at
    # the reading itself this would still be 0.
    assert meter.read() == pytest.approx({"gpu:0": 150.0})
    now[0] = 13.0
    assert meter.read() == pytest.approx({"gpu:0": 150.0 + 400.0})
    now[0] = 13.5
    fake.gpus[0].power_mw = 0
    assert meter.read() == pytest.approx({"gpu:0": 550.0 + 50.0})
    meter.close()


def test_background_sampler_integrates_between_readings(
    install: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install([FakeGpu(UUIDS[0], "Tesla K80", energy_mj=None, power_mw=50_000)])
    monkeypatch.setattr(nvml, "SAMPLE_INTERVAL_S", 0.005)
    meter = NvmlMeter()
    start = meter.read()["gpu:0"]
    t0 = time.perf_counter()
    calls0 = fake.power_calls
    time.sleep(0.2)
    joules = meter.read()["gpu:0"] - start
    elapsed = time.perf_counter() - t0
    assert fake.power_calls - calls0 >= 5  # the thread sampled in between
    assert joules == pytest.approx(50.0 * elapsed, rel=0.05)
    thread = meter._thread
    assert thread is not None and thread.daemon and thread.is_alive()
    meter.close()
    assert not thread.is_alive()


def test_mixed_gpus_are_estimated(install: Any) -> None:
    install([FakeGpu(UUIDS[0], "H100", energy_mj=5), FakeGpu(UUIDS[1], "P100", energy_mj=None)])
    meter = NvmlMeter()
    assert meter.methods == ("counter", "power")
    assert meter.estimated is True
    meter.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("2,0", [UUIDS[2], UUIDS[0]]),
        ("1", [UUIDS[1]]),
        (" 1 , 2 ", [UUIDS[1], UUIDS[2]]),
        (f"{UUIDS[2]},GPU-aaaa", [UUIDS[2], UUIDS[0]]),  # full UUID, unique prefix
        ("GPU-bbbb2222", [UUIDS[1]]),
        ("1,7,0", [UUIDS[1]]),  # 7 is invalid: it and what follows are hidden
        ("0,GPU-ffff,2", [UUIDS[0]]),  # unknown UUID
        ("0,GPU-,2", [UUIDS[0]]),  # ambiguous prefix
        ("0,0,1", [UUIDS[0]]),  # repeated entry
        ("0,abc,1", [UUIDS[0]]),
    ],
)
def test_cuda_visible_devices(
    install: Any, monkeypatch: pytest.MonkeyPatch, env: str, expected: list[str]
) -> None:
    fake = install(gpus3())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    meter = NvmlMeter()
    assert [g.uuid for g in meter.gpu_info] == expected
    assert meter.domains == tuple(f"gpu:{i}" for i in range(len(expected)))
    assert fake.opened_by_uuid[-len(expected) :] == expected
    # gpu:0 is the first visible device, whatever its NVML index.
    by_uuid = {g.uuid: g for g in fake.gpus}
    by_uuid[expected[0]].energy_mj += 7_000
    assert meter.read()["gpu:0"] == pytest.approx(7.0)
    assert all(v == 0.0 for k, v in meter.read().items() if k != "gpu:0")
    meter.close()


@pytest.mark.parametrize("env", ["", "-1", "5", "GPU-ffff", "x,0"])
def test_no_visible_gpu_is_unavailable(
    install: Any, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    fake = install(gpus3())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    with pytest.raises(MeterUnavailable, match="no GPU visible: CUDA_VISIBLE_DEVICES="):
        NvmlMeter()
    assert (fake.inits, fake.shutdowns) == (1, 1)


def test_no_gpu_at_all(install: Any) -> None:
    fake = install([])
    with pytest.raises(MeterUnavailable, match="no GPU visible: NVML reports no NVIDIA GPU"):
        NvmlMeter()
    assert (fake.inits, fake.shutdowns) == (1, 1)


def test_parse_visible_devices_unit() -> None:
    uuids = UUIDS
    assert parse_visible_devices(None, uuids) == [0, 1, 2]
    assert parse_visible_devices("", uuids) == []
    assert parse_visible_devices("-1", uuids) == []
    assert parse_visible_devices("2,1", uuids) == [2, 1]
    assert parse_visible_devices("MIG-1234,0", uuids) == ["MIG-1234", 0]
    assert parse_visible_devices("GPU-cccc,3,0", uuids) == [2]


def test_mig_slice_without_sensors_is_unavailable(
    install: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mig = FakeGpu("MIG-0f0f0f0f-1111-2222-3333-444444444444", "MIG 1g.10gb", None, None)
    fake = install([*gpus3(), mig])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", mig.uuid)
    with pytest.raises(MeterUnavailable, match="neither an energy counter nor its power"):
        NvmlMeter()
    assert fake.shutdowns == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [("LibraryNotFound", "no NVIDIA driver"), ("DriverNotLoaded", "driver is not loaded")],
)
def test_init_errors_are_unavailable(install: Any, error: str, reason: str) -> None:
    fake = install(gpus3())
    fake.init_error = getattr(fake, error)
    with pytest.raises(MeterUnavailable, match=reason):
        NvmlMeter()
    assert fake.shutdowns == 0  # nothing to pair: init failed


def test_missing_pynvml_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    with pytest.raises(MeterUnavailable, match="nvidia-ml-py"):
        NvmlMeter()


def test_nvml_error_mid_run_is_meter_error(install: Any) -> None:
    fake = install(gpus3())
    meter = NvmlMeter()
    meter.read()
    fake.gpus[1].broken = True
    with pytest.raises(MeterError) as info:
        meter.read()
    message = str(info.value)
    assert "gpu:1" in message and UUIDS[1] in message and "GPU is lost" in message
    meter.close()


def test_sampler_error_surfaces_at_next_read(install: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install([FakeGpu(UUIDS[0], "Tesla P4", energy_mj=None)])
    monkeypatch.setattr(nvml, "SAMPLE_INTERVAL_S", 0.002)
    meter = NvmlMeter()
    fake.gpus[0].broken = True
    deadline = time.monotonic() + 2.0
    while meter._thread_error is None and time.monotonic() < deadline:
        time.sleep(0.005)
    with pytest.raises(MeterError, match="power sampling failed: GPU is lost"):
        meter.read()
    fake.gpus[0].broken = False  # transient: the sampler kept going
    time.sleep(0.02)
    meter._thread_error = None  # a sample may have failed just before the repair
    assert meter.read()["gpu:0"] >= 0.0
    assert meter._thread is not None and meter._thread.is_alive()
    meter.close()


def test_close_shuts_nvml_down_once(install: Any) -> None:
    fake = install([FakeGpu(UUIDS[0], "P100", energy_mj=None)])
    meter = NvmlMeter()
    assert (fake.inits, fake.shutdowns) == (1, 0)
    meter.close()
    meter.close()
    assert (fake.inits, fake.shutdowns) == (1, 1)
    with pytest.raises(MeterError, match="closed"):
        meter.read()


def test_visible_gpus_helper(install: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install(gpus3())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    (gpu,) = visible_gpus()
    assert (gpu.ordinal, gpu.uuid, gpu.name, gpu.nvml_index) == (0, UUIDS[2], gpus3()[2].name, 2)
    assert str(gpu) == f"gpu:0 Tesla V100-SXM2-16GB ({UUIDS[2]})"
    assert (fake.inits, fake.shutdowns) == (1, 1)


class FakeCuda:
    def __init__(self, log: list[str], contexts: set[int], initialized: bool = True) -> None:
        self.log = log
        self.contexts = contexts
        self.initialized = initialized
        self.fail = False

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return self.initialized

    def device_count(self) -> int:
        return 3

    def synchronize(self, device: int) -> None:
        if self.fail:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        self.log.append(f"sync {device}")


def fake_torch(cuda: FakeCuda) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.cuda = cuda  # type: ignore[attr-defined]
    torch._C = types.SimpleNamespace(  # type: ignore[attr-defined]
        _cuda_hasPrimaryContext=lambda device: device in cuda.contexts
    )
    return torch


def test_torch_work_is_synchronized_before_reading(
    install: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[str] = []
    install(gpus3()[:1], log)
    meter = NvmlMeter()
    cuda = FakeCuda(log, contexts={0, 2})
    monkeypatch.setitem(sys.modules, "torch", fake_torch(cuda))
    log.clear()
    meter.read()
    # Only devices with a context are synchronized (no new context on device 1), and
    # before the counter is read.
    assert log == ["sync 0", "sync 2", f"energy {UUIDS[0]}"]
    cuda.initialized = False
    log.clear()
    meter.read()
    assert log == [f"energy {UUIDS[0]}"]
    cuda.initialized = True
    cuda.fail = True
    with pytest.raises(MeterError, match=r"synchronize.*illegal memory access"):
        meter.read()
    meter.close()


def test_torch_not_imported_is_left_alone(install: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    install(gpus3()[:1])
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    meter = NvmlMeter()
    meter.read()
    assert "torch" not in sys.modules
    meter.close()


def test_concurrent_reads_are_consistent(install: Any) -> None:
    fake = install([FakeGpu(UUIDS[0], "P100", energy_mj=None, power_mw=10_000)])
    meter = NvmlMeter()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            last = 0.0
            for _ in range(200):
                value = meter.read()["gpu:0"]
                assert value >= last
                last = value
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake.power_calls >= 800
    meter.close()
