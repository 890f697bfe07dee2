"""A fake ``pynvml`` module for the nvml meter's tests, in process and in subprocesses.

:class:`FakeNvml` builds a module with pynvml's error classes and the functions the meter
uses. A GPU's energy counter stands still unless ``counter_w`` is set; then it advances at
that many watts on the fake's clock, in steps of ``update_s`` seconds, as NVML's does
(its counter updates every 20-100 ms). :func:`pynvml_source` writes the same fake as a
``pynvml.py`` file, for a pytester subprocess to import in place of the real one.
"""

from __future__ import annotations

import math
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FakeGpu:
    uuid: str
    name: str
    energy_mj: int | None = 0  # None: no counter (pre-Volta)
    power_mw: int | None = 100_000  # None: no power reading either (MIG slice)
    broken: bool = False  # every query raises NVMLError_GpuIsLost
    counter_w: float | None = None  # the counter advances at this power on the fake's clock
    update_s: float = 0.0  # ... in steps this long (0: continuously)
    limit_mw: int | None = 700_000  # enforced power limit; None: not supported


class FakeNvml:
    """A stand-in for pynvml with its error classes and the functions the meter uses."""

    def __init__(
        self,
        gpus: list[FakeGpu],
        log: list[str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.gpus = gpus
        self.log = log if log is not None else []
        self.clock = clock
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
            if handle.counter_w is None:
                return handle.energy_mj
            now = self.clock()
            if handle.update_s > 0:
                now = math.floor(now / handle.update_s) * handle.update_s
            return handle.energy_mj + int(handle.counter_w * now * 1000)

        def nvmlDeviceGetPowerUsage(handle: FakeGpu) -> int:
            check(handle)
            if handle.power_mw is None:
                raise self.NotSupported()
            self.power_calls += 1
            self.log.append(f"power {handle.uuid}")
            return handle.power_mw

        def nvmlDeviceGetEnforcedPowerLimit(handle: FakeGpu) -> int:
            check(handle)
            if handle.limit_mw is None:
                raise self.NotSupported()
            return handle.limit_mw

        def nvmlDeviceGetPowerManagementLimit(handle: FakeGpu) -> int:
            return nvmlDeviceGetEnforcedPowerLimit(handle)

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
            nvmlDeviceGetEnforcedPowerLimit,
            nvmlDeviceGetPowerManagementLimit,
        ):
            setattr(mod, fn.__name__, fn)
        return mod


def pynvml_source(gpus: list[FakeGpu]) -> str:
    """The text of a ``pynvml.py`` that is this fake, on the real clock, with ``gpus``."""
    here = str(Path(__file__).resolve().parent)
    return (
        "import sys\n"
        f"sys.path.insert(0, {here!r})\n"
        "from fake_nvml import FakeGpu, FakeNvml\n"
        f"_fake = FakeNvml({gpus!r})\n"
        "sys.modules[__name__] = _fake.module\n"
    )
