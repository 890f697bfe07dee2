"""Where the plugin's overhead goes: start-up steps, and per-test hook costs (cProfile).

Run: ``.venv/bin/python benchmarks/profile_plugin.py [--quick] [--tests 2000]``

1. Start-up, step by step, each step timed with ``time.perf_counter`` in fresh
   processes (median of several): importing the plugin, the session-building module,
   each meter that ``meter = "auto"`` tries, the profile name.
2. ``python -m cProfile`` of pytest on N trivial tests, unmarked (plugin on) and all
   measured (``--greenbudget-all``): the functions of ``pytest_greenbudget`` by own time,
   in microseconds per test. cProfile inflates small functions (roughly 2-3x), so
   read these as shares, and the overhead.py figures as the absolute costs.
"""

from __future__ import annotations

import argparse
import json
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import PYTHON, clean_env, machine_line, median, run_timed
from overhead import make_suite, make_tiny

STEPS = r'''
import json, time
t = time.perf_counter
out = {}
s = t(); import pytest; out["import pytest"] = t() - s
s = t(); import pytest_greenbudget.plugin; out["import pytest_greenbudget.plugin"] = t() - s
s = t(); import pytest_greenbudget.lifecycle; out["import lifecycle (configure)"] = t() - s
from pytest_greenbudget.meters.base import MeterUnavailable
s = t()
try:
    from pytest_greenbudget.meters.rapl import RaplMeter; RaplMeter()
except MeterUnavailable:
    pass
out["auto: RaplMeter() (unavailable here)"] = t() - s
s = t()
try:
    from pytest_greenbudget.meters.nvml import NvmlMeter; NvmlMeter()
except MeterUnavailable:
    pass
out["auto: NvmlMeter() (unavailable here; imports pynvml, nvmlInit)"] = t() - s
s = t(); from pytest_greenbudget.meters import estimate; out["import meters.estimate"] = t() - s
s = t(); estimate._cpu_table(); out["estimate: codecarbon CPU table (csv.DictReader)"] = t() - s
s = t(); m = estimate.EstimateMeter(); out["estimate: EstimateMeter() after the table"] = t() - s
from pytest_greenbudget import baseline
s = t(); baseline.default_profile([m]); out["baseline.default_profile"] = t() - s
print(json.dumps(out))
'''


def startup_steps(reps: int, env: dict[str, str]) -> dict[str, float]:
    runs: list[dict[str, float]] = []
    for _ in range(reps + 1):
        proc = subprocess.run([PYTHON, "-c", STEPS], env=env, capture_output=True, text=True,
                              check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    runs = runs[1:]  # the first one wrote the bytecode
    return {k: median(r[k] for r in runs) * 1e3 for k in runs[0]}


def profile_run(project: Path, extra: list[str], out: Path, env: dict[str, str]) -> pstats.Stats:
    run_timed([PYTHON, "-m", "cProfile", "-o", str(out), "-m", "pytest", "-q",
               "-p", "no:cacheprovider", *extra], project, env)
    return pstats.Stats(str(out))


def plugin_rows(stats: pstats.Stats, n_tests: int, top: int) -> list[tuple[Any, ...]]:
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "pytest_greenbudget" not in path or "benchmarks" in path:
            continue
        name = path.split("pytest_greenbudget/")[-1]
        rows.append((tottime / n_tests * 1e6, cumtime / n_tests * 1e6, ncalls,
                     f"{name}:{line} {func}"))
    rows.sort(reverse=True)
    return rows[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=18)
    args = parser.parse_args()
    print(f"# profile_plugin.py -- {machine_line()}")
    with tempfile.TemporaryDirectory(prefix="gb-profile-") as tmp:
        root = Path(tmp)
        env = clean_env(pycache=root / "pycache")
        steps = startup_steps(3 if args.quick else 7, env)
        print("\n## start-up steps (ms, median of fresh processes, bytecode cached)")
        for name, ms in steps.items():
            print(f"{ms:8.2f}  {name}")
        suite = make_suite(root / "suite", args.tests)
        make_tiny(root / "tiny")
        for label, extra in (("unmarked, plugin on", []),
                             ("all measured (--greenbudget-all, estimate)", ["--greenbudget-all"])):
            run_timed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], suite, env)
            stats = profile_run(suite, extra, root / "run.prof", env)
            print(f"\n## cProfile, {args.tests} tests, {label}: total "
                  f"{stats.total_tt * 1e3:.0f} ms (profiled)")  # type: ignore[attr-defined]
            print(" self us/test   cum us/test    calls  function")
            for self_us, cum_us, ncalls, where in plugin_rows(stats, args.tests, args.top):
                print(f"{self_us:12.2f} {cum_us:13.2f} {ncalls:8d}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
