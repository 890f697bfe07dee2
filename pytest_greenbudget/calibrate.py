"""``python -m pytest_greenbudget calibrate``: watts per busy logical CPU, measured with RAPL.

The ``estimate`` meter prices CPU seconds at a figure from a table; where the RAPL
counters are readable (a developer's machine, a self-hosted runner) that figure can be
measured instead and pasted into ``[tool.greenbudget]`` as ``cpu_watts``, so the machines
without RAPL (hosted CI) charge what this one draws.

Method: rounds of windows, each round one idle window (the package's idle power) and one
window per level of 1..N busy CPUs (N worker processes spinning a fixed Python loop).
The energy a window adds over idle, divided by the CPU seconds its workers used (from
``getrusage`` of the reaped children), is one figure; the result is their median, with
their range as the spread. Package zones only: that is what ``cpu_watts`` stands for.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import NamedTuple, TextIO

from pytest_greenbudget.meters.base import MeterUnavailable
from pytest_greenbudget.meters.estimate import _children_seconds

_SPIN = (
    "import sys, time\n"
    "end = time.perf_counter() + float(sys.argv[1])\n"
    "x = 0\n"
    "while time.perf_counter() < end:\n"
    "    for i in range(1000):\n"
    "        x += i * i\n"
)


class Window(NamedTuple):
    """One measured window: ``busy`` workers for ``wall_s``."""

    busy: int
    wall_s: float
    cpu_s: float
    joules: float
    added_j: float

    @property
    def watts_per_cpu(self) -> float:
        return self.added_j / self.cpu_s if self.cpu_s > 0 else float("nan")


class Calibration(NamedTuple):
    """The figure to use and how much the windows agreed."""

    idle_watts: float
    windows: tuple[Window, ...]
    watts_per_cpu: float
    low: float
    high: float
    fit: float  # least squares through the origin: added joules vs CPU seconds


def _package_joules(meter: object) -> float:
    reading = meter.read()  # type: ignore[attr-defined]
    return float(sum(v for d, v in reading.items() if d.startswith("cpu:")))


def _window(meter: object, busy: int, seconds: float) -> tuple[float, float, float]:
    """(wall seconds, worker CPU seconds, package joules) of one window."""
    cpu0 = _children_seconds()
    e0 = _package_joules(meter)
    t0 = time.perf_counter()
    if busy:
        workers = [
            subprocess.Popen([sys.executable, "-c", _SPIN, str(seconds)]) for _ in range(busy)
        ]
        for worker in workers:
            worker.wait()
    else:
        time.sleep(seconds)
    wall = time.perf_counter() - t0
    e1 = _package_joules(meter)
    return wall, _children_seconds() - cpu0, e1 - e0


def calibrate(meter: object, *, seconds: float, cpus: int, rounds: int, out: TextIO) -> Calibration:
    """Measure; print one line per window as it goes."""
    windows: list[Window] = []
    idles: list[float] = []
    out.write(f"{'round':>5} {'busy':>4} {'wall s':>7} {'cpu s':>7} {'J':>9} "
              f"{'J over idle':>11} {'W per CPU':>9}\n")
    for n in range(1, rounds + 1):
        wall, _, joules = _window(meter, 0, seconds)
        idle_w = joules / wall
        idles.append(idle_w)
        out.write(f"{n:>5} {0:>4} {wall:>7.2f} {0:>7.2f} {joules:>9.2f} {'':>11} "
                  f"{'(idle ' + format(idle_w, '.2f') + ' W)':>9}\n")
        for busy in range(1, cpus + 1):
            wall, cpu_s, joules = _window(meter, busy, seconds)
            window = Window(busy, wall, cpu_s, joules, joules - idle_w * wall)
            windows.append(window)
            out.write(f"{n:>5} {busy:>4} {wall:>7.2f} {cpu_s:>7.2f} {joules:>9.2f} "
                      f"{window.added_j:>11.2f} {window.watts_per_cpu:>9.3f}\n")
            out.flush()
    figures = [w.watts_per_cpu for w in windows if w.cpu_s > 0]
    sxx = sum(w.cpu_s**2 for w in windows)
    fit = sum(w.cpu_s * w.added_j for w in windows) / sxx if sxx else float("nan")
    median = statistics.median(figures) if figures else float("nan")
    return Calibration(
        statistics.median(idles),
        tuple(windows),
        median,
        min(figures, default=float("nan")),
        max(figures, default=float("nan")),
        fit,
    )


def main(argv: Sequence[str], out: TextIO) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m pytest_greenbudget calibrate",
        description="Measure watts per busy logical CPU with RAPL, for cpu_watts.",
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each window")
    parser.add_argument("--cpus", type=int, default=0, help="most busy CPUs (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of windows (default 3)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1 or args.cpus < 0:
        parser.error("--seconds must be > 0, --rounds >= 1, --cpus >= 0")
    cpus = args.cpus or (os.cpu_count() or 1)

    from pytest_greenbudget.meters.registry import MeterOptions, make_builtin

    try:
        meter = make_builtin("rapl", MeterOptions())
    except MeterUnavailable as exc:
        out.write(f"calibrate: the rapl meter is not available here, so nothing to measure "
                  f"with: {exc}\n")
        return 1
    try:
        out.write(f"calibrate: {getattr(meter, 'details', 'rapl')}\n"
                  f"{args.rounds} rounds of an idle window and 1..{cpus} busy CPUs, "
                  f"{args.seconds:g} s each; other work on this machine adds noise\n\n")
        result = calibrate(meter, seconds=args.seconds, cpus=cpus, rounds=args.rounds, out=out)
    finally:
        close = getattr(meter, "close", None)
        if callable(close):
            close()
    out.write(f"\nidle package power: {result.idle_watts:.2f} W\n")
    if not result.watts_per_cpu > 0:
        out.write("calibrate: the busy windows added no energy over idle; the counter does "
                  "not follow the load, so no figure is given\n")
        return 1
    out.write(
        f"watts per busy logical CPU: {result.watts_per_cpu:.3g} W (median of "
        f"{len(result.windows)} windows; spread {result.low:.3g} to {result.high:.3g} W; "
        f"least-squares fit {result.fit:.3g} W)\n\n"
        "Put this in [tool.greenbudget] (pyproject.toml) for machines like this one:\n"
        f"cpu_watts = {result.watts_per_cpu:.3g}\n"
    )
    return 0
