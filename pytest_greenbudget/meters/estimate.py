"""The ``estimate`` meter: the test process's CPU time priced at the CPU's TDP share.

It counts only this process (and children it has reaped), so it needs no exclusive
measurement under xdist and works on every machine, at the price of being a model.
"""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

from pytest_greenbudget.carbon import CarbonDataError, codecarbon_data_dir
from pytest_greenbudget.stats import (
    CPU_TIME_BETWEEN_RUNS,
    CPU_TIME_JITTER_S,
    CPU_TIME_WITHIN_RUN,
    NoisePrior,
)

#: codecarbon's fallback when the CPU is not in its table: 4 W per logical CPU.
WATTS_PER_LOGICAL_CPU = 4.0

_NOISE = [
    (re.compile(r"\((?:R|TM|tm|r)\)"), ""),
    (re.compile(r"\s+CPU\s*@.*$"), ""),
    (re.compile(r"\s*@\s*[\d.]+\s*GHz.*$"), ""),
    (re.compile(r"\s+\d+-Core\s+Processor.*$", re.IGNORECASE), ""),
    (re.compile(r"\s+(?:CPU|Processor)\b", re.IGNORECASE), ""),
    (re.compile(r"\s+"), " "),
]


class Tdp(NamedTuple):
    """The TDP used and where it came from, for the report."""

    watts: float
    source: str


def cpu_model() -> str:
    """The CPU model string as the OS reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def normalize_model(model: str) -> str:
    """Strip the marketing noise that keeps a model from matching its table row."""
    for pattern, replacement in _NOISE:
        model = pattern.sub(replacement, model)
    return model.strip()


@cache
def _cpu_table_text() -> str:
    """codecarbon's CPU table, lowercased, each row after a newline."""
    path = codecarbon_data_dir() / "hardware" / "cpu_power.csv"
    return "\n" + path.read_text(encoding="utf-8").lower()


def _table_watts(name: str) -> list[float]:
    """The TDPs of the rows named exactly ``name`` (any case).

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


def lookup_tdp(model: str, logical_cpus: int, configured: float | None = None) -> Tdp:
    """TDP from configuration, else the model's exact row in codecarbon's table, else 4 W/CPU."""
    if configured is not None:
        return Tdp(configured, "cpu_tdp_watts setting")
    fallback = Tdp(
        WATTS_PER_LOGICAL_CPU * logical_cpus,
        f"default {WATTS_PER_LOGICAL_CPU:g} W x {logical_cpus} logical CPUs "
        f"({model!r} has no single exact row in codecarbon's CPU table)",
    )
    for candidate in (model, normalize_model(model)):
        try:
            watts = set(_table_watts(candidate))
        except (OSError, UnicodeDecodeError, CarbonDataError):
            return fallback
        if len(watts) == 1:
            return Tdp(watts.pop(), f"codecarbon CPU table row {candidate!r}")
    return fallback


def _children_seconds() -> float:
    if resource is None:  # pragma: no cover - Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class EstimateMeter:
    """CPU seconds of this process and its reaped children x TDP / logical CPUs."""

    name = "estimate"
    estimated = True
    per_process = True

    def __init__(self, cpu_tdp_watts: float | None = None) -> None:
        self.logical_cpus = os.cpu_count() or 1
        self.model = cpu_model()
        self.tdp = lookup_tdp(self.model, self.logical_cpus, cpu_tdp_watts)
        self.watts_per_cpu_second = self.tdp.watts / self.logical_cpus
        self.details = (
            f"CPU time x {self.tdp.watts:g} W TDP / {self.logical_cpus} logical CPUs "
            f"= {self.watts_per_cpu_second:.3g} W per busy CPU; TDP from {self.tdp.source}"
        )
        resolution = time.get_clock_info("process_time").resolution  # 15.6 ms on Windows
        jitter_s = CPU_TIME_JITTER_S + resolution
        self.noise = NoisePrior(
            between=CPU_TIME_BETWEEN_RUNS,
            within=CPU_TIME_WITHIN_RUN,
            floor_j=jitter_s * self.watts_per_cpu_second,
            source=(
                f"CPU time of fixed work on a shared VM: +-{CPU_TIME_BETWEEN_RUNS:.0%} between "
                f"runs, +-{CPU_TIME_WITHIN_RUN:.0%} between rounds, {jitter_s * 1000:.3g} ms a call"
            ),
        )

    def read(self) -> Mapping[str, float]:
        seconds = time.process_time() + _children_seconds()
        return {"cpu": seconds * self.watts_per_cpu_second}
