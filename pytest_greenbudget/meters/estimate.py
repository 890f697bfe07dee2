"""The ``estimate`` meter: the test process's CPU time x watts per busy logical CPU.

It counts only this process (and children it has reaped), so it needs no exclusive
measurement under xdist and works on every machine, at the price of being a model.

The watts (SPEC section 13) come from the first of: the ``cpu_watts`` setting; the TDP
of ONE package (``cpu_tdp_watts``, the shipped table :mod:`.cpu_table`, codecarbon's
CPU table) divided by the logical CPUs of one package of that model (shipped table, or
AMD's "64-Core" in the name); a documented default. Never by ``os.cpu_count()``: a
2-vCPU cloud VM reports its host's 64-core EPYC, and 280 W / 2 vCPUs is 140 W per busy
vCPU where SPECpower measures about 1.5 W.
"""

from __future__ import annotations

import functools
import math
import platform
import re
import sys
import time
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

from pytest_greenbudget.carbon import CarbonDataError, codecarbon_data_dir
from pytest_greenbudget.meters.base import MeterError
from pytest_greenbudget.stats import (
    CPU_TIME_BETWEEN_RUNS,
    CPU_TIME_JITTER_S,
    CPU_TIME_WITHIN_RUN,
    NoisePrior,
)

# The real clocks, bound at import, before a test can patch them (monkeypatch, freezegun).
# Partials, not the functions: freezegun replaces every module attribute that *is* one.
_process_time = functools.partial(time.process_time)
_getrusage = None if resource is None else functools.partial(resource.getrusage)

#: Bumped whenever the watts for the same machine change, so baselines made under an
#: older model are kept apart (the profile slug carries it: ``estimate2-...``).
MODEL_VERSION = "2"

#: Cloud Carbon Footprint's AWS averages over SPECpower results: 0.74 W per vCPU idle,
#: 3.5 W at full load; the busy share is their difference.
DEFAULT_WATTS_PER_CPU = 2.76
DEFAULT_SOURCE = (
    "the default (Cloud Carbon Footprint's AWS average per vCPU from SPECpower: "
    "3.5 W at full load - 0.74 W idle)"
)

_SOURCES = {
    "V": "vendor specification",
    "C": "cloud custom SKU: TDP of its nearest retail sibling",
    "E": "estimate: no published TDP",
}

_KEY_NOISE = re.compile(
    r"\((?:r|tm|c)\)|[®™]"
    r"|\b\d+(?:st|nd|rd|th)\s+gen\b"
    r"|@.*$"
    r"|\s(?:w/|with)\s.*$"
    r"|\b\d+-core\b"
    r"|\b(?:intel|amd|arm|ampere|processor|cpu|platinum|gold|silver|bronze)\b"
)
_AMD_CORES = re.compile(r"\bAMD\b.*?\b(\d+)-Core\b", re.IGNORECASE)

# /proc/cpuinfo on Arm has no model name; the core's part number names the design.
_ARM_PARTS = {
    "0xd0c": "ARM Neoverse-N1",
    "0xd40": "ARM Neoverse-V1",
    "0xd49": "ARM Neoverse-N2",
    "0xd4f": "ARM Neoverse-V2",
}


class CpuSpec(NamedTuple):
    """One row of the shipped table: TDP, cores and logical CPUs of one package."""

    name: str
    tdp_watts: float
    cores: int
    threads: int
    source: str


class CpuWatts(NamedTuple):
    """Watts per busy logical CPU, the model looked up, and where the figure came from."""

    model: str
    watts_per_cpu: float
    source: str
    tdp_watts: float | None = None
    threads: int | None = None


def model_key(model: str) -> str:
    """The lookup key: no vendor, trademark, clock, core count or tier words, lowercase."""
    return " ".join(_KEY_NOISE.sub(" ", model.lower()).split())


@cache
def _table() -> dict[str, CpuSpec]:
    from pytest_greenbudget.meters.cpu_table import CPUS

    return {row[0]: CpuSpec(*row[1:]) for row in CPUS}


def table_entry(model: str) -> CpuSpec | None:
    """The shipped table's row for ``model``, matched on :func:`model_key`."""
    return _table().get(model_key(model))


def threads_from_name(model: str) -> int | None:
    """Logical CPUs per package from AMD's "64-Core" in the name (EPYC/Ryzen have 2-way SMT)."""
    match = _AMD_CORES.search(model)
    return 2 * int(match.group(1)) if match else None


def cpu_model() -> str:
    """The CPU model string as the OS reports it ('' when it does not say)."""
    if sys.platform.startswith("linux"):
        from pytest_greenbudget.baseline import cpuinfo_text  # one read for profile and meter

        return model_from_cpuinfo(cpuinfo_text())
    if sys.platform == "darwin":
        return _darwin_brand()

    return " ".join(platform.processor().split())


def model_from_cpuinfo(text: str) -> str:
    """The first ``model name``; on Arm, the Neoverse design named by ``CPU part``."""
    part = implementer = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "model name" and value:
            return " ".join(value.split())
        if key == "CPU part" and not part:
            part = value.lower()
        elif key == "CPU implementer" and not implementer:
            implementer = value.lower()
    if implementer == "0x41" and part in _ARM_PARTS:
        return _ARM_PARTS[part]
    return ""


def _darwin_brand() -> str:  # pragma: no cover - macOS only
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        size = ctypes.c_size_t(256)
        buf = ctypes.create_string_buffer(256)
        if libc.sysctlbyname(b"machdep.cpu.brand_string", buf, ctypes.byref(size), None, 0):
            return ""
        return buf.value.decode("utf-8", "replace").strip()
    except Exception:
        return ""


@cache
def _cpu_table_text() -> str:
    """codecarbon's CPU table, lowercased, each row after a newline."""
    path = codecarbon_data_dir() / "hardware" / "cpu_power.csv"
    return "\n" + path.read_text(encoding="utf-8").lower()


def _table_watts(name: str) -> list[float]:
    """The TDPs of codecarbon's rows named exactly ``name`` (any case).

    A targeted scan: parsing all ~4,900 rows with ``csv`` cost 7 ms of every start-up.
    """
    text = _cpu_table_text()
    name = name.strip().lower()
    watts: list[float] = []
    for prefix in (f"\n{name},", f'\n"{name}",'):
        start = text.find(prefix) if name else -1
        while start != -1:
            end = text.find("\n", start + 1)
            try:
                watts.append(float(text[start + len(prefix) : None if end == -1 else end]))
            except ValueError:
                pass
            start = text.find(prefix, start + 1)
    return watts


_CC_NOISE = [
    (re.compile(r"\((?:R|TM|tm|r)\)"), ""),
    (re.compile(r"\s+CPU\s*@.*$"), ""),
    (re.compile(r"\s*@\s*[\d.]+\s*GHz.*$"), ""),
    (re.compile(r"\s+\d+-Core\s+Processor.*$", re.IGNORECASE), ""),
    (re.compile(r"\s+(?:CPU|Processor)\b", re.IGNORECASE), ""),
    (re.compile(r"\s+"), " "),
]


def normalize_model(model: str) -> str:
    """codecarbon's spelling: 'AMD EPYC 7763 64-Core Processor' -> 'AMD EPYC 7763'."""
    for pattern, replacement in _CC_NOISE:
        model = pattern.sub(replacement, model)
    return model.strip()


def codecarbon_tdp(model: str) -> tuple[float, str] | None:
    """The TDP of ``model``'s single exact row in codecarbon's CPU table, and that row's name."""
    for candidate in (model, normalize_model(model)):
        try:
            watts = set(_table_watts(candidate))
        except (OSError, UnicodeDecodeError, CarbonDataError):
            return None
        if len(watts) == 1:
            return watts.pop(), candidate
    return None


def watts_per_cpu(
    model: str, *, cpu_watts: float | None = None, cpu_tdp_watts: float | None = None
) -> CpuWatts:
    """Watts per busy logical CPU for ``model`` by SPEC section 13's order of sources."""
    if cpu_watts is not None:
        return CpuWatts(model, cpu_watts, "cpu_watts setting")
    entry = table_entry(model)
    if entry is not None:
        threads: int | None = entry.threads
        thread_source = "shipped CPU table"
    else:
        threads = threads_from_name(model)
        thread_source = "the core count in the model name, x 2 threads per core"
    if threads is None:
        if cpu_tdp_watts is not None:
            reason = (
                f"cpu_tdp_watts = {cpu_tdp_watts:g} not used: the logical CPUs per package of "
                f"{model!r} are unknown (set cpu_watts, or cpu_model to a known model)"
            )
        else:
            reason = f"{model!r} is not in the shipped CPU table"
        return CpuWatts(model, DEFAULT_WATTS_PER_CPU, f"{DEFAULT_SOURCE}; {reason}")
    tdp: float | None = None
    if cpu_tdp_watts is not None:
        tdp, tdp_source = cpu_tdp_watts, "cpu_tdp_watts setting"
    elif entry is not None:
        return CpuWatts(
            model,
            entry.tdp_watts / entry.threads,
            f"{entry.tdp_watts:g} W TDP / {entry.threads} logical CPUs of one "
            f"{entry.name!r} package (shipped CPU table: {_SOURCES.get(entry.source, '?')})",
            tdp_watts=entry.tdp_watts,
            threads=entry.threads,
        )
    else:
        found = codecarbon_tdp(model)
        if found is not None:
            tdp, tdp_source = found[0], f"codecarbon CPU table row {found[1]!r}"
    if tdp is None:
        return CpuWatts(
            model,
            DEFAULT_WATTS_PER_CPU,
            f"{DEFAULT_SOURCE}; no TDP known for {model!r}",
            threads=threads,
        )
    return CpuWatts(
        model,
        tdp / threads,
        f"{tdp:g} W TDP ({tdp_source}) / {threads} logical CPUs per package ({thread_source})",
        tdp_watts=tdp,
        threads=threads,
    )


def _detected_model() -> str:
    return cpu_model()  # looked up at call time, so tests can replace it


def _children_seconds() -> float:
    if resource is None or _getrusage is None:  # pragma: no cover - Windows
        return 0.0
    usage = _getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class EstimateMeter:
    """CPU seconds of this process and its reaped children x watts per busy logical CPU.

    Attributes: ``model`` (the CPU model looked up), ``watts`` (:class:`CpuWatts`),
    ``watts_per_cpu_second``, ``model_version`` (recorded in the baseline's machine info
    and the profile slug) and ``details`` (for the report).
    """

    name = "estimate"
    estimated = True
    per_process = True
    model_version = MODEL_VERSION

    def __init__(
        self,
        cpu_tdp_watts: float | None = None,
        *,
        cpu_watts: float | None = None,
        cpu_model: str | None = None,
    ) -> None:
        detected = cpu_model if cpu_model is not None else _detected_model()
        self.model = detected or "unknown CPU"
        self.watts = watts_per_cpu(self.model, cpu_watts=cpu_watts, cpu_tdp_watts=cpu_tdp_watts)
        self.watts_per_cpu_second = self.watts.watts_per_cpu
        self.details = (
            f"CPU time x {self.watts_per_cpu_second:.3g} W per busy logical CPU "
            f"for {self.model!r}: {self.watts.source}"
        )
        resolution = time.get_clock_info("process_time").resolution  # 15.6 ms on Windows
        jitter_s = CPU_TIME_JITTER_S + resolution
        self.noise = NoisePrior(
            between=CPU_TIME_BETWEEN_RUNS,
            within=CPU_TIME_WITHIN_RUN,
            floor_j=jitter_s * self.watts_per_cpu_second,
            cpu_watts=self.watts_per_cpu_second,
            source=(
                f"CPU time of fixed work on a shared VM: +-{CPU_TIME_BETWEEN_RUNS:.0%} between "
                f"runs, +-{CPU_TIME_WITHIN_RUN:.0%} between rounds, {jitter_s * 1000:.3g} ms a call"
            ),
        )

    def read(self) -> Mapping[str, float]:
        seconds = _process_time() + _children_seconds()
        joules = seconds * self.watts_per_cpu_second
        if not math.isfinite(joules):
            raise MeterError(
                f"estimate: {seconds:g} CPU s x {self.watts_per_cpu_second:g} W overflows"
            )
        return {"cpu": joules}
