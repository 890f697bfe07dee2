"""The nvml meter against a fake ``pynvml`` module (the meter imports it by name)."""

from __future__ import annotations

import re
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from fake_nvml import FakeGpu, FakeNvml

from pytest_greenbudget.meters import nvml
from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.nvml import NvmlMeter, parse_visible_devices, visible_gpus

UUIDS = [
    "GPU-aaaa1111-0000-0000-0000-000000000000",
    "GPU-bbbb2222-0000-0000-0000-000000000000",
    "GPU-cccc3333-0000-0000-0000-000000000000",
]


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


# --- the start-up check (SPEC 13): implausible readings are not trusted -------------------


@pytest.fixture
def probe(install: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """probe(gpus) -> (meter, problem, seconds the check took), on a fake clock."""
    now = [1000.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(nvml, "_clock", lambda: now[0])
    monkeypatch.setattr(nvml, "_sleep", sleep)
    monkeypatch.setattr(nvml, "SAMPLE_INTERVAL_S", 3600.0)

    def _probe(gpus: list[FakeGpu]) -> tuple[NvmlMeter, str | None, float]:
        fake = install(gpus)
        fake.clock = lambda: now[0]
        meter = NvmlMeter()
        install.meters.append(meter)
        start = now[0]
        problem = meter.check()
        return meter, problem, now[0] - start

    return _probe


def _h100(**kw: Any) -> FakeGpu:
    base: dict[str, Any] = {"energy_mj": 5_000_000, "counter_w": 60.0, "update_s": 0.1}
    base["power_mw"] = 60_000
    return FakeGpu(UUIDS[0], "NVIDIA H100 80GB HBM3", **{**base, **kw})


@pytest.mark.parametrize("update_s", [0.1, 0.02, 0.0])
def test_a_healthy_counter_is_trusted(probe: Any, update_s: float) -> None:
    meter, problem, took = probe([_h100(update_s=update_s)])
    assert problem is None
    found = re.search(r"checked at start: gpu:0 (\d+) W by its energy counter over", meter.details)
    assert found is not None, meter.details
    assert int(found.group(1)) == pytest.approx(60, rel=0.25)  # polling every 5 ms
    assert "limit 700 W, power reading 60 W" in meter.details
    assert took <= 0.25  # two updates of a 100 ms counter, not the whole budget


def test_a_frozen_counter_is_not_trusted(probe: Any) -> None:
    _, problem, took = probe([_h100(counter_w=None)])
    assert problem is not None
    assert "gpu:0 NVIDIA H100 80GB HBM3: its energy counter did not move in 30" in problem
    assert took == pytest.approx(nvml.PROBE_S, abs=0.01)


def test_a_15x_under_reading_counter_is_not_trusted(probe: Any) -> None:
    _, problem, _ = probe([_h100(counter_w=4.0)])  # power says 60 W
    assert problem is not None
    assert "ratio 0.0667" in problem and "trusted only within 0.1 to 10" in problem


@pytest.mark.parametrize(
    ("watts", "shown"), [(50_000.0, "implies 5e+04 W"), (0.2, "implies 0.2 W")]
)
def test_absurd_counter_power_is_not_trusted(probe: Any, watts: float, shown: str) -> None:
    _, problem, _ = probe([_h100(counter_w=watts, power_mw=int(watts * 1000))])
    assert problem is not None
    assert shown in problem and "outside the plausible 1 to 1400 W (limit 700 W)" in problem


def test_one_bad_gpu_among_good_ones_is_named(probe: Any) -> None:
    good = _h100()
    bad = FakeGpu(UUIDS[1], "NVIDIA A100-SXM4-40GB", energy_mj=7, power_mw=50_000)
    _, problem, _ = probe([good, bad])
    assert problem is not None and problem.startswith("gpu:1 NVIDIA A100-SXM4-40GB: ")


def test_power_sampled_gpus_get_the_range_check(probe: Any) -> None:
    meter, problem, took = probe([FakeGpu(UUIDS[0], "Tesla P100", None, power_mw=40_000)])
    assert problem is None and took == 0.0  # no counter to wait for
    assert "gpu:0 40 W by its power reading, limit 700 W" in meter.details
    _, problem, _ = probe([FakeGpu(UUIDS[1], "Tesla P100", None, power_mw=9_000_000)])
    assert problem is not None and "power reading implies 9e+03 W" in problem


def test_unsupported_checks_are_named_and_trusted(probe: Any) -> None:
    meter, problem, _ = probe([_h100(power_mw=None, limit_mw=None)])
    assert problem is None
    assert "no power limit reported, no power reading to compare" in meter.details
    _, problem, _ = probe([_h100(power_mw=None, limit_mw=None, counter_w=5000.0)])
    assert problem is not None and "outside the plausible 1 to 3000 W" in problem


def test_registry_refuses_an_untrusted_nvml_and_releases_it(
    install: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_greenbudget.meters import registry
    from pytest_greenbudget.meters.sanity import CounterUntrusted

    fake = install([_h100(counter_w=None)])
    with pytest.raises(CounterUntrusted, match="NVML energy readings are not trusted: gpu:0"):
        registry.make_builtin("nvml", registry.MeterOptions())
    assert (fake.inits, fake.shutdowns) == (1, 1)
    monkeypatch.setattr(registry, "_nvidia_driver_present", lambda: True)
    monkeypatch.setattr(registry, "_amd_gpu_present", lambda: False)
    meters = registry.build_meters(["auto"], registry.MeterOptions())
    assert "nvml" not in [m.name for m in meters]
    note = getattr(meters[0], "note", "")
    assert "nvml not used: the NVML energy readings are not trusted" in note
    for meter in meters:
        getattr(meter, "close", lambda: None)()
    fake.gpus[0].counter_w = 60.0  # a live counter on the real clock: trusted
    meters = registry.build_meters(["auto"], registry.MeterOptions())
    assert "nvml" in [m.name for m in meters]
    for meter in meters:
        getattr(meter, "close", lambda: None)()
