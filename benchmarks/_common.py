"""Helpers shared by the benchmark scripts in this folder (not a test module).

Every figure the scripts print is a median (or a coefficient of variation) over several
repetitions, because the machines this runs on are small and shared.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

#: Variables that would change what pytest or the plugin does in the child runs.
_DROP = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS")


def clean_env(pycache: Path | None = None) -> dict[str, str]:
    """The environment for child runs.

    With ``pycache``, bytecode is cached under that folder (``PYTHONPYCACHEPREFIX``),
    as an installed package has it, without writing ``__pycache__`` into the repo.
    Without it, no bytecode is written, so a package without cached bytecode (this
    repo's, when ``PYTHONDONTWRITEBYTECODE`` is set) is compiled at every import.
    """
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def have_codecarbon_meter() -> bool:
    """True when codecarbon and the plugin's codecarbon meter module can be imported."""
    try:
        return (
            importlib.util.find_spec("codecarbon") is not None
            and importlib.util.find_spec("pytest_greenbudget.meters.codecarbon_meter") is not None
        )
    except (ImportError, ValueError):
        return False


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the child and its reaped children, the process)."""
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=env if env is not None else clean_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    wall = time.perf_counter() - t0
    cpu = children_cpu() - cpu0
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return wall, cpu, proc


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else math.nan


def cv_percent(values: Sequence[float]) -> float:
    """Coefficient of variation (sample standard deviation / mean) in percent."""
    if len(values) < 2:
        return math.nan
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean * 100.0 if mean else math.nan


def fmt(value: float | None, spec: str = ".3g", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:{spec}}{unit}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def load_busy(cpus: int = 1) -> list[subprocess.Popen[bytes]]:
    """Start ``cpus`` busy-loop processes (the "other engineer" on the other core)."""
    return [
        subprocess.Popen([PYTHON, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(cpus)
    ]


def stop_busy(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:  # only the processes this script started, by their handle
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def spin(n: int) -> int:
    """A fixed count of pure-Python operations (not a fixed CPU time)."""
    x = 0
    for i in range(n):
        x += i * i
    return x


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def machine_line() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    return (
        f"{model}, {os.cpu_count()} logical CPUs, Python {sys.version.split()[0]}, "
        f"load average at start {load:.2f}"
    )
