"""The ``nvml`` meter: energy of the visible NVIDIA GPUs through NVML (``pynvml``).

Volta and newer GPUs have an energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
mJ since the driver loaded, updated about every 100 ms): the meter reads it. Older
GPUs only report power (``nvmlDeviceGetPowerUsage``, mW): a daemon thread samples it
every 20 ms and integrates with the trapezoid rule, and each reading adds a sample
taken at that moment so the window's edges are included. Sampled power misses short
bursts, so a meter with any such GPU is marked ``estimated``.

Only the GPUs this process can see count, in the order CUDA numbers them:
``CUDA_VISIBLE_DEVICES`` holds NVML indices or (prefixes of) ``GPU-...`` UUIDs, and the
first invalid or repeated entry hides itself and everything after it, as in CUDA.
Each visible GPU is opened by UUID and reported as ``gpu:<n>``, ``n`` being its CUDA
ordinal. Indices follow NVML's (PCI bus) order, which is CUDA's with
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or identical GPUs; on mixed machines prefer UUIDs.

GPU work is asynchronous: before each reading the meter waits for queued work with
``torch.cuda.synchronize()`` when torch is already imported and has initialised CUDA
(it never imports torch), so a test's kernels are not billed to the next test.

Before it is used (by ``auto`` or as a named meter), :meth:`NvmlMeter.check` asks whether
the readings are plausible (SPEC 13): a GPU always draws idle power (tens of watts), so
an energy counter that does not move within ``PROBE_S``, or implies under 1 W, over
twice the GPU's power limit, or outside 0.1 to 10 times its own power reading (Zeus's
band), is not trusted; a power-sampled GPU gets the power-range check only. No load is
run: the check waits for two counter updates, 0.05 to 0.25 s (0.3 s for a frozen counter,
0.6 s at most) once per pytest process (each xdist worker too), and only where the meter
is built: ``auto`` builds it only where an NVIDIA driver shows (``/dev/nvidiactl``).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_greenbudget.meters import sanity
from pytest_greenbudget.meters.base import MeterError, MeterUnavailable
from pytest_greenbudget.stats import counter_prior

__all__ = [
    "PROBE_S",
    "SAMPLE_INTERVAL_S",
    "GpuInfo",
    "NvmlMeter",
    "parse_visible_devices",
    "visible_gpus",
]

SAMPLE_INTERVAL_S = 0.02
# Module-level so tests can drive the integration; a partial so that freezegun, which
# replaces every module attribute that *is* a real time function, leaves it alone.
_clock = functools.partial(time.perf_counter)
_sleep = functools.partial(time.sleep)

#: How long the start-up check waits for a counter's first update (and again for a window).
PROBE_S = 0.3
#: The shortest window between two counter updates that the check measures power over.
PROBE_WINDOW_S = 0.05
PROBE_POLL_S = 0.005
#: Plausible GPU power: at least this, and at most LIMIT_FACTOR x its power limit.
MIN_WATTS = 1.0
LIMIT_FACTOR = 2.0
#: The ceiling where the GPU reports no power limit (no GPU draws near 3 kW).
NO_LIMIT_CEILING_W = 3000.0


@dataclass(frozen=True)
class GpuInfo:
    """A GPU this process sees: ``ordinal`` is its CUDA number (``gpu:<ordinal>``)."""

    ordinal: int
    uuid: str
    name: str
    nvml_index: int | None  # None for a MIG device named by its own UUID

    def __str__(self) -> str:
        return f"gpu:{self.ordinal} {self.name} ({self.uuid})"


def _as_str(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _import_pynvml() -> Any:
    try:
        with warnings.catch_warnings():
            # The deprecated `pynvml` distribution warns on import (an error under -W error).
            warnings.simplefilter("ignore")
            return importlib.import_module("pynvml")
    except Exception as exc:
        raise MeterUnavailable(
            f"cannot import pynvml ({exc}); install the nvidia-ml-py distribution"
        ) from exc


def _nvml_reason(exc: BaseException) -> str:
    kind = type(exc).__name__
    if kind == "NVMLError_LibraryNotFound":
        return "no NVIDIA driver (libnvidia-ml.so.1 not found)"
    if kind == "NVMLError_DriverNotLoaded":
        return "the NVIDIA driver is not loaded"
    if kind == "NVMLError_NoPermission":
        return "no permission to query the GPU through NVML"
    if kind == "NVMLError_LibRmVersionMismatch":
        return "NVML library and kernel driver versions differ (reboot or reload the driver)"
    return f"NVML error: {exc}"


def _init(pynvml: Any) -> None:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise MeterUnavailable(_nvml_reason(exc)) from exc


def parse_visible_devices(value: str | None, uuids: list[str]) -> list[int | str]:
    """The devices ``CUDA_VISIBLE_DEVICES=value`` leaves visible, in CUDA order.

    ``uuids`` are the UUIDs of all devices in NVML index order. Returns NVML indices,
    or the literal ``MIG-...`` entries (opened by UUID later). ``None`` (unset) means
    all devices; an empty value, ``-1`` or any invalid, ambiguous or repeated entry
    ends the list there, as CUDA does.
    """
    if value is None:
        return list(range(len(uuids)))
    visible: list[int | str] = []
    for raw in value.split(","):
        entry = raw.strip()
        index: int | str | None = None
        if entry.lstrip("+-").isdigit():
            number = int(entry)
            index = number if 0 <= number < len(uuids) else None
        elif entry.startswith("GPU-"):
            matches = [i for i, u in enumerate(uuids) if u.startswith(entry)]
            index = matches[0] if len(matches) == 1 else None
        elif entry.startswith("MIG-"):
            index = entry
        if index is None or index in visible:
            break
        visible.append(index)
    return visible


def _resolve(pynvml: Any) -> list[tuple[GpuInfo, Any]]:
    """Visible GPUs with their handles, opened by UUID."""
    count = int(pynvml.nvmlDeviceGetCount())
    uuids = [
        _as_str(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i)))
        for i in range(count)
    ]
    gpus: list[tuple[GpuInfo, Any]] = []
    visible = parse_visible_devices(os.environ.get("CUDA_VISIBLE_DEVICES"), uuids)
    for ordinal, dev in enumerate(visible):
        uuid = uuids[dev] if isinstance(dev, int) else dev
        try:
            handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
        except pynvml.NVMLError:
            if isinstance(dev, int):
                raise
            break  # an unknown MIG UUID is an invalid entry: it hides the rest
        name = _as_str(pynvml.nvmlDeviceGetName(handle))
        info = GpuInfo(ordinal, uuid, name, dev if isinstance(dev, int) else None)
        gpus.append((info, handle))
    return gpus


def _no_gpu_reason(env_value: str | None) -> str:
    if env_value is not None:
        return (
            f"no GPU visible: CUDA_VISIBLE_DEVICES={env_value!r} selects no GPU "
            "(empty, -1, or its first entry is not a valid index or GPU UUID)"
        )
    return "no GPU visible: NVML reports no NVIDIA GPU"


def visible_gpus() -> list[GpuInfo]:
    """The GPUs this process sees, by name and UUID; raises ``MeterUnavailable``."""
    pynvml = _import_pynvml()
    _init(pynvml)
    try:
        return [info for info, _ in _resolve(pynvml)]
    except pynvml.NVMLError as exc:
        raise MeterUnavailable(_nvml_reason(exc)) from exc
    finally:
        pynvml.nvmlShutdown()


def synchronize_torch(meter: str = "nvml") -> None:
    """Wait for queued GPU work, when torch (never imported here) already uses the GPU.

    Under ROCm builds (``torch.version.hip``) ``torch.cuda`` drives the HIP devices, so the
    same calls serve the ``amdsmi`` meter.
    """
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return
    try:
        cuda = torch.cuda
        if not (cuda.is_initialized() and cuda.is_available()):
            return
        # Only devices that already have a context: synchronize() would create one
        # (hundreds of MB) on a device the tests never touched.
        has_context = getattr(torch._C, "_cuda_hasPrimaryContext", None)
        for device in range(cuda.device_count()):
            if has_context is None or has_context(device):
                cuda.synchronize(device)
    except Exception as exc:
        raise MeterError(
            f"{meter}: torch.cuda.synchronize() failed, so queued GPU work cannot be waited "
            f"for: {exc}"
        ) from exc



class NvmlMeter:
    """Cumulative joules per visible NVIDIA GPU (``gpu:0``, ``gpu:1``...), since creation.

    Machine-wide: every process's work on those GPUs is counted. Attributes: ``gpus``
    (model names, one per domain, as ``baseline.default_profile`` expects),
    ``gpu_info`` (:class:`GpuInfo` per domain: name and UUID), ``methods``
    (``"counter"`` or ``"power"`` per GPU) and ``details``.
    """

    name = "nvml"
    estimated = False  # set per instance: True when any GPU is power-sampled
    per_process = False
    resolution_s = 0.1
    noise = counter_prior()  # SPEC 12: see stats.py

    def __init__(self) -> None:
        pynvml = _import_pynvml()
        _init(pynvml)
        self._nvml: Any = pynvml
        self._shut_down = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_error: str | None = None
        try:
            self._setup()
        except MeterUnavailable:
            self._shutdown()
            raise
        except pynvml.NVMLError as exc:
            self._shutdown()
            raise MeterUnavailable(_nvml_reason(exc)) from exc
        if "power" in self.methods:
            self._thread = threading.Thread(
                target=self._sample_loop, name="greenbudget-nvml-sampler", daemon=True
            )
            self._thread.start()

    def _setup(self) -> None:
        pynvml = self._nvml
        resolved = _resolve(pynvml)
        if not resolved:
            raise MeterUnavailable(_no_gpu_reason(os.environ.get("CUDA_VISIBLE_DEVICES")))
        gpus = [info for info, _ in resolved]
        self._handles = [handle for _, handle in resolved]
        self.gpu_info: tuple[GpuInfo, ...] = tuple(gpus)
        self.gpus: tuple[str, ...] = tuple(g.name for g in gpus)
        self.domains: tuple[str, ...] = tuple(f"gpu:{g.ordinal}" for g in gpus)
        methods: list[str] = []
        self._origin_mj: list[int] = []
        self._last_t: list[float] = []
        self._last_w: list[float] = []
        self._energy_j: list[float] = []
        for gpu, handle in zip(gpus, self._handles, strict=True):
            origin = 0
            try:
                origin = int(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
                methods.append("counter")
            except pynvml.NVMLError_NotSupported:
                try:
                    pynvml.nvmlDeviceGetPowerUsage(handle)
                except pynvml.NVMLError_NotSupported as exc:
                    raise MeterUnavailable(
                        f"{gpu} reports neither an energy counter nor its power "
                        "(a MIG slice, or a GPU without power sensors)"
                    ) from exc
                methods.append("power")
            self._origin_mj.append(origin)
            self._last_t.append(_clock())
            self._last_w.append(0.0)
            self._energy_j.append(0.0)
        self.methods: tuple[str, ...] = tuple(methods)
        for i, method in enumerate(methods):
            if method == "power":
                self._last_w[i] = pynvml.nvmlDeviceGetPowerUsage(self._handles[i]) / 1000.0
                self._last_t[i] = _clock()
        self.estimated = "power" in methods
        described = [
            f"{g} "
            + (
                "energy counter"
                if m == "counter"
                else f"power sampled every {SAMPLE_INTERVAL_S * 1000:.0f} ms (estimated)"
            )
            for g, m in zip(gpus, methods, strict=True)
        ]
        self.details = "NVML: " + "; ".join(described)

    def check(self) -> str | None:
        """The problem, in words, when a GPU's readings are implausible; None when all pass.

        Checks it cannot run (an NVML function not supported) are named in ``details``
        and the GPU is trusted. NVML errors propagate.
        """
        pynvml = self._nvml
        counters = [i for i, m in enumerate(self.methods) if m == "counter"]
        windows = self._counter_windows(counters)
        checked: list[str] = []
        for i, gpu in enumerate(self.gpu_info):
            what = f"gpu:{gpu.ordinal} {gpu.name}"
            limit = self._optional_mw(pynvml.nvmlDeviceGetEnforcedPowerLimit, i)
            if limit is None:
                limit = self._optional_mw(pynvml.nvmlDeviceGetPowerManagementLimit, i)
            ceiling = LIMIT_FACTOR * limit if limit is not None else NO_LIMIT_CEILING_W
            limit_text = f"limit {limit:.0f} W" if limit is not None else "no power limit reported"
            power = self._optional_mw(pynvml.nvmlDeviceGetPowerUsage, i)
            if i in windows:
                joules, seconds = windows[i]
                if joules <= 0:
                    return (
                        f"{what}: its energy counter did not move in {seconds * 1000:.0f} ms, "
                        "though a GPU always draws idle power"
                    )
                watts, source = joules / seconds, f"energy counter over {seconds * 1000:.0f} ms"
            elif power is not None:
                watts, source = power, "power reading"
            else:  # pragma: no cover - _setup refuses a GPU with neither
                continue
            if not MIN_WATTS <= watts <= ceiling:
                return (
                    f"{what}: its {source} implies {watts:.3g} W, outside the plausible "
                    f"{MIN_WATTS:g} to {ceiling:.0f} W ({limit_text})"
                )
            note = f"{watts:.0f} W by its {source}, {limit_text}"
            if i in windows:
                if power is None:
                    note += ", no power reading to compare"
                else:
                    joules, seconds = windows[i]
                    problem = sanity.compare_with_power(joules, power, seconds, what=what)
                    if problem is not None:
                        return problem
                    note += f", power reading {power:.0f} W"
            checked.append(f"gpu:{gpu.ordinal} {note}")
        self.details += "; checked at start: " + "; ".join(checked)
        return None

    def _optional_mw(self, function: Any, i: int) -> float | None:
        """``function(handle)`` in watts, None where NVML does not support it."""
        try:
            return float(function(self._handles[i])) / 1000.0
        except self._nvml.NVMLError_NotSupported:
            return None

    def _counter_windows(self, indices: list[int]) -> dict[int, tuple[float, float]]:
        """Joules and seconds between two updates of each counter, polled every PROBE_POLL_S.

        Timing from update to update, not from an arbitrary first read, keeps a 100 ms
        update period from skewing a 100 ms window. A counter that never moved within
        PROBE_S gets (0, elapsed); one that moved once gets the span from the first read.
        """
        read = self._nvml.nvmlDeviceGetTotalEnergyConsumption
        start = _clock()
        first = {i: (start, int(read(self._handles[i]))) for i in indices}
        edges: dict[int, list[tuple[float, int]]] = {i: [] for i in indices}
        now = start
        while True:
            pending = [
                i
                for i in indices
                if not edges[i] or edges[i][-1][0] - edges[i][0][0] < PROBE_WINDOW_S
            ]
            never = any(not edges[i] for i in pending)
            if not pending or (never and now - start >= PROBE_S) or now - start >= 2 * PROBE_S:
                break
            _sleep(PROBE_POLL_S)
            for i in pending:
                mj = int(read(self._handles[i]))
                now = _clock()
                if mj != (edges[i][-1] if edges[i] else first[i])[1]:
                    edges[i].append((now, mj))
            now = _clock()
        windows: dict[int, tuple[float, float]] = {}
        for i in indices:
            seen = edges[i]
            begin = seen[0] if len(seen) >= 2 else first[i]
            end = seen[-1] if seen else (now, first[i][1])
            windows[i] = ((end[1] - begin[1]) / 1000.0, max(end[0] - begin[0], 1e-9))
        return windows

    def _sample(self, i: int) -> None:
        """Integrate GPU ``i``'s power up to now (trapezoid); caller holds the lock."""
        watts = self._nvml.nvmlDeviceGetPowerUsage(self._handles[i]) / 1000.0
        now = _clock()
        self._energy_j[i] += (watts + self._last_w[i]) / 2.0 * (now - self._last_t[i])
        self._last_w[i] = watts
        self._last_t[i] = now

    def _sample_loop(self) -> None:
        sampled = [i for i, m in enumerate(self.methods) if m == "power"]
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            with self._lock:
                if self._shut_down:
                    return
                for i in sampled:
                    try:
                        self._sample(i)
                    except self._nvml.NVMLError as exc:
                        # Reported (once) by the next read(), whose window has a gap; the
                        # thread keeps going, so a transient error costs one entry.
                        if self._thread_error is None:
                            self._thread_error = f"{self.gpu_info[i]}: power sampling failed: {exc}"

    def read(self) -> Mapping[str, float]:
        """Joules per GPU since the meter was created, after queued torch work is done."""
        synchronize_torch()
        pynvml = self._nvml
        with self._lock:
            if self._shut_down:
                raise MeterError("the nvml meter is closed")
            if self._thread_error is not None:
                error, self._thread_error = self._thread_error, None
                raise MeterError(f"nvml: {error}")
            out: dict[str, float] = {}
            for i, domain in enumerate(self.domains):
                try:
                    if self.methods[i] == "counter":
                        mj = int(pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handles[i]))
                        out[domain] = (mj - self._origin_mj[i]) / 1000.0
                    else:
                        self._sample(i)
                        out[domain] = self._energy_j[i]
                except pynvml.NVMLError as exc:
                    raise MeterError(f"nvml: reading {self.gpu_info[i]} failed: {exc}") from exc
            return out

    def _shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass

    def close(self) -> None:
        """Stop the sampling thread and release NVML (once: each init has one shutdown)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        self._shutdown()
