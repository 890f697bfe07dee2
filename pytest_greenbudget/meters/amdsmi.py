"""The ``amdsmi`` meter: energy of the visible AMD Instinct and Radeon GPUs (ROCm's ``amdsmi``).

``amdsmi_get_energy_count`` returns an accumulator and its resolution in microjoules
(``energy_accumulator`` since amdsmi 6.2.1, ``power`` before): energy = accumulator x
``counter_resolution``. Some GPUs under-read it badly (ROCm/amdsmi#38: the Python API
read 0.34 kJ where the CLI read 5.2 kJ on an MI210), so, as Zeus does, the meter checks
the counter at start against ``amdsmi_get_power_info`` over a short window and trusts it
only when their ratio is within 0.1 to 10 (:mod:`.sanity`).

Visible GPUs: ``ROCR_VISIBLE_DEVICES`` (indices or UUIDs) selects among all devices,
then ``HIP_VISIBLE_DEVICES`` (else ``CUDA_VISIBLE_DEVICES``, which HIP honours too)
selects indices among those; as in CUDA, the first invalid entry hides the rest. GPU
``n`` in HIP's numbering is the domain ``gpu:<n>``; amdsmi's processor order is taken as
the driver's. Before each reading the meter waits for queued work through torch when
torch, built for ROCm (``torch.version.hip``), is already imported and initialised.

``amdsmi`` is an optional dependency (ROCm ships it; ``pip install amdsmi`` must match
the installed ROCm) imported only when this meter is built.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from pytest_greenbudget.meters.base import MeterError, MeterUnavailable
from pytest_greenbudget.meters.nvml import _as_str, synchronize_torch
from pytest_greenbudget.meters.sanity import CounterUntrusted, compare_with_power

__all__ = ["PROBE_S", "AmdSmiMeter", "select_visible"]

#: The window over which the counter is compared with the reported power at start.
PROBE_S = 0.1
_sleep = time.sleep  # module-level so tests can run the probe without waiting
_clock = time.perf_counter


def _import_amdsmi() -> Any:
    try:
        # amdsmi prints to stdout on import when libamd_smi.so is missing.
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module("amdsmi")
    except Exception as exc:  # ImportError, OSError (no library), AttributeError (version)
        raise MeterUnavailable(
            f"cannot import amdsmi ({type(exc).__name__}: {exc}); install ROCm and the amdsmi "
            "Python package matching it (pip install pytest-greenbudget[amd])"
        ) from exc


def _select(entries: str, candidates: list[int], uuids: list[str]) -> list[int]:
    chosen: list[int] = []
    for raw in entries.split(","):
        entry = raw.strip()
        index: int | None = None
        if entry.isdigit():
            number = int(entry)
            index = candidates[number] if number < len(candidates) else None
        elif entry:
            wanted = entry.lower().removeprefix("gpu-")
            matches = [c for c in candidates if uuids[c].lower().removeprefix("gpu-") == wanted]
            index = matches[0] if len(matches) == 1 else None
        if index is None or index in chosen:
            break
        chosen.append(index)
    return chosen


def select_visible(uuids: list[str], environ: Mapping[str, str] | None = None) -> list[int]:
    """amdsmi indices of the GPUs this process sees, in HIP's order."""
    env = os.environ if environ is None else environ
    visible = list(range(len(uuids)))
    rocr = env.get("ROCR_VISIBLE_DEVICES")
    if rocr is not None:
        visible = _select(rocr, visible, uuids)
    hip = env.get("HIP_VISIBLE_DEVICES", env.get("CUDA_VISIBLE_DEVICES"))
    if hip is not None:
        visible = _select(hip, visible, uuids)
    return visible


def _energy_uj(amdsmi: Any, handle: Any) -> float:
    info = amdsmi.amdsmi_get_energy_count(handle)
    accumulator = info["energy_accumulator"] if "energy_accumulator" in info else info["power"]
    return float(accumulator) * float(info["counter_resolution"])


def _power_w(amdsmi: Any, handle: Any) -> float | None:
    """The reported socket power in watts (average, else current), None when 'N/A'."""
    info = amdsmi.amdsmi_get_power_info(handle)
    for key in ("average_socket_power", "current_socket_power"):
        value = info.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


class AmdSmiMeter:
    """Cumulative joules per visible AMD GPU (``gpu:0``, ``gpu:1``...), since creation.

    Machine-wide. Attributes: ``gpus`` (model names, as ``baseline.default_profile``
    expects), ``uuids`` and ``details``.
    """

    name = "amdsmi"
    estimated = False
    per_process = False
    resolution_s = 0.01

    def __init__(self) -> None:
        amdsmi = _import_amdsmi()
        self._smi: Any = amdsmi
        self._lock = threading.Lock()
        self._closed = False
        error = getattr(amdsmi, "AmdSmiException", Exception)
        try:
            amdsmi.amdsmi_init()
        except error as exc:
            raise MeterUnavailable(f"amdsmi_init failed: {exc}") from exc
        try:
            self._setup()
        except MeterUnavailable:
            self._shutdown()
            raise
        except error as exc:
            self._shutdown()
            raise MeterUnavailable(f"amdsmi error: {exc}") from exc

    def _setup(self) -> None:
        amdsmi = self._smi
        handles = list(amdsmi.amdsmi_get_processor_handles())
        uuids = [_as_str(amdsmi.amdsmi_get_gpu_device_uuid(h)) for h in handles]
        visible = select_visible(uuids)
        if not visible:
            raise MeterUnavailable(
                "no AMD GPU visible (amdsmi lists none, or ROCR_VISIBLE_DEVICES / "
                "HIP_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES select none)"
            )
        self._handles = [handles[i] for i in visible]
        self.uuids: tuple[str, ...] = tuple(uuids[i] for i in visible)
        self.gpus: tuple[str, ...] = tuple(
            _as_str(amdsmi.amdsmi_get_gpu_asic_info(h).get("market_name") or "AMD GPU")
            for h in self._handles
        )
        self.domains: tuple[str, ...] = tuple(f"gpu:{n}" for n in range(len(visible)))
        self._check_counters()
        self._last_uj = [_energy_uj(amdsmi, h) for h in self._handles]
        self._total_uj = [0.0] * len(self._handles)
        self.details = "amdsmi: " + "; ".join(
            f"{d} {name} ({uuid}) energy counter, checked against its power reading"
            for d, name, uuid in zip(self.domains, self.gpus, self.uuids, strict=True)
        )

    def _check_counters(self) -> None:
        """Zeus's check: counter energy over PROBE_S within 0.1..10x of power x time."""
        amdsmi = self._smi
        powers0 = [_power_w(amdsmi, h) for h in self._handles]
        start = _clock()
        energies0 = [_energy_uj(amdsmi, h) for h in self._handles]
        _sleep(PROBE_S)
        energies1 = [_energy_uj(amdsmi, h) for h in self._handles]
        elapsed = max(_clock() - start, 1e-9)
        powers1 = [_power_w(amdsmi, h) for h in self._handles]
        for i, domain in enumerate(self.domains):
            what = f"{domain} {self.gpus[i]}"
            joules = (energies1[i] - energies0[i]) / 1e6
            known = [p for p in (powers0[i], powers1[i]) if p is not None]
            if not known:
                if joules <= 0:
                    raise CounterUntrusted(
                        f"{what}: its energy counter did not move in {elapsed:.2g} s and it "
                        "reports no power (the second die of an MI250 reports none)"
                    )
                continue
            problem = compare_with_power(joules, sum(known) / len(known), elapsed, what=what)
            if problem is not None:
                raise CounterUntrusted(problem + " (see ROCm/amdsmi#38)")

    def read(self) -> Mapping[str, float]:
        """Joules per GPU since the meter was created, after queued torch work is done."""
        torch: Any = sys.modules.get("torch")
        if torch is not None and getattr(getattr(torch, "version", None), "hip", None):
            synchronize_torch("amdsmi")
        error = getattr(self._smi, "AmdSmiException", Exception)
        with self._lock:
            if self._closed:
                raise MeterError("the amdsmi meter is closed")
            for i, handle in enumerate(self._handles):
                try:
                    raw = _energy_uj(self._smi, handle)
                except (error, KeyError, TypeError, ValueError) as exc:
                    raise MeterError(f"amdsmi: reading {self.domains[i]} failed: {exc}") from exc
                delta = raw - self._last_uj[i]
                if delta < 0:  # the accumulator wrapped or was reset: count from zero
                    delta = raw
                self._last_uj[i] = raw
                self._total_uj[i] += delta
            return {d: uj / 1e6 for d, uj in zip(self.domains, self._total_uj, strict=True)}

    def _shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Exception):
            self._smi.amdsmi_shut_down()

    def close(self) -> None:
        """Release amdsmi (once)."""
        self._shutdown()
