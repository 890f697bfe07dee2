"""Where the plugin's overhead goes: start-up steps, and per-test hook costs (cProfile).

Run: ``.venv/bin/python benchmarks/profile_plugin.py [--quick] [--tests 2000] [--callgrind]``

1. Start-up, step by step, each step timed with ``time.perf_counter`` in fresh
   processes (median of several): importing the plugin, the session-building module,
   each meter that ``meter = "auto"`` tries, the profile name.
2. In one process, ``pytest.main`` run repeatedly on N trivial tests, plugin off, on
   (unmarked) and all measured, alternating: the CPU time per test the plugin adds
   once imports and start-up caches are warm (medians).
3. ``python -m cProfile`` of pytest on N trivial tests, unmarked (plugin on) and all
   measured (``--greenbudget-all``): the functions of ``pytest_greenbudget`` by own time,
   in microseconds per test. cProfile inflates small functions (roughly 2-3x), so
   read these as shares, and the overhead.py figures as the absolute costs.
4. With ``--callgrind`` (needs valgrind; about 3 minutes): instructions executed by
   pytest (``valgrind --tool=callgrind``, ``PYTHONHASHSEED=0``), which other processes do
   not disturb: plugin off / on / all measured, on 1 and on 201 trivial tests, giving
   the start-up and the per-test cost in instructions and the on/off ratio they imply
   for 2,000 tests. Deterministic to a few instructions for a given code base.
"""

from __future__ import annotations

import argparse
import json
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import PYTHON, clean_env, machine_line, median, run_timed
from overhead import make_suite

STEPS = r'''
import json, time
t = time.perf_counter
out = {}
s = t(); import pytest; out["import pytest"] = t() - s
s = t(); import pytest_greenbudget.plugin; out["import pytest_greenbudget.plugin"] = t() - s
s = t(); import pytest_greenbudget.lifecycle; out["import lifecycle (configure)"] = t() - s
from pytest_greenbudget.meters.base import MeterUnavailable
from pytest_greenbudget.meters import registry
s = t(); auto = registry.build_meters(["auto"], registry.MeterOptions())
out["meter auto: build_meters (all it tries, first time)"] = t() - s
from pytest_greenbudget.meters import estimate
table = getattr(estimate._cpu_table_text, "__wrapped__", None)
if table is not None:
    s = t(); table(); out["  of which: reading codecarbon CPU table (estimate TDP)"] = t() - s
s = t()
try:
    from pytest_greenbudget.meters.rapl import RaplMeter; RaplMeter()
except MeterUnavailable:
    pass
out["  of which: RaplMeter() (unavailable here)"] = t() - s
s = t()
try:
    from pytest_greenbudget.meters.nvml import NvmlMeter; NvmlMeter()
except MeterUnavailable:
    pass
out["NvmlMeter() directly (auto skips it without a driver)"] = t() - s
from pytest_greenbudget import baseline
s = t(); baseline.default_profile(auto); out["baseline.default_profile"] = t() - s
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


INPROCESS = r'''
import contextlib, io, json, statistics, sys, time
import pytest
project, reps = sys.argv[1], int(sys.argv[2])
configs = {"off": ["-p", "no:greenbudget"], "on": [], "all": ["--greenbudget-all"]}
cpu = {k: [] for k in configs}
for rep in range(reps + 1):
    for name, extra in (configs.items() if rep % 2 else reversed(configs.items())):
        with contextlib.redirect_stdout(io.StringIO()):
            c0 = time.process_time()
            code = pytest.main(["-q", "-p", "no:cacheprovider", project, *extra])
            c1 = time.process_time()
        assert code == 0, (name, code)
        if rep:  # the first round warms the caches
            cpu[name].append(c1 - c0)
print(json.dumps({k: statistics.median(v) for k, v in cpu.items()}))
'''


def inprocess(project: Path, n_tests: int, reps: int, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run([PYTHON, "-c", INPROCESS, str(project), str(reps)], env=env,
                          cwd=project, capture_output=True, text=True, check=True)
    cpu = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "off_ms": cpu["off"] * 1e3,
        "on_ms": cpu["on"] * 1e3,
        "all_ms": cpu["all"] * 1e3,
        "unmarked_us_per_test": (cpu["on"] - cpu["off"]) / n_tests * 1e6,
        "measured_us_per_test": (cpu["all"] - cpu["on"]) / n_tests * 1e6,
    }


def callgrind_instructions(project: Path, extra: list[str], env: dict[str, str]) -> int:
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", PYTHON, "-m",
         "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=project, env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True,
    )
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no callgrind total:\n{proc.stderr[-2000:]}")


def callgrind(root: Path, env: dict[str, str], n_big: int = 201) -> dict[str, Any]:
    small = make_suite(root / "cg_small", 1)
    big = make_suite(root / "cg_big", n_big)
    configs = {"off": ["-p", "no:greenbudget"], "on": [], "all": ["--greenbudget-all"]}
    for project in (small, big):  # write the bytecode and the assertion-rewrite cache
        for extra in configs.values():
            run_timed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
                      project, env)
    ir = {(name, size): callgrind_instructions(project, extra, env)
          for name, extra in configs.items() for size, project in (("1", small), ("n", big))}
    per_test = {name: (ir[(name, "n")] - ir[(name, "1")]) / (n_big - 1) for name in configs}
    start = {name: ir[(name, "1")] - per_test[name] for name in configs}
    n = 2000
    return {
        "instructions": {f"{k[0]}_{'1' if k[1] == '1' else n_big}": v for k, v in ir.items()},
        "per_test": per_test,
        "startup_added": start["on"] - start["off"],
        "startup_off": start["off"],
        "unmarked_added_per_test": per_test["on"] - per_test["off"],
        "measured_added_per_test": per_test["all"] - per_test["on"],
        "ratio_2000": (start["on"] + n * per_test["on"]) / (start["off"] + n * per_test["off"]),
        "ratio_2000_without_startup": per_test["on"] / per_test["off"],
    }


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
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions under valgrind (slow, ~3 min)")
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
        figures = inprocess(suite, args.tests, 3 if args.quick else 7, env)
        print(f"\n## in-process pytest.main, {args.tests} tests, CPU ms (medians): off "
              f"{figures['off_ms']:.0f}, on {figures['on_ms']:.0f}, all measured "
              f"{figures['all_ms']:.0f}")
        print(f"plugin on, unmarked: {figures['unmarked_us_per_test']:.1f} us per test; "
              f"measured (estimate) on top: {figures['measured_us_per_test']:.1f} us per test")
        for label, extra in (("unmarked, plugin on", []),
                             ("all measured (--greenbudget-all, estimate)", ["--greenbudget-all"])):
            run_timed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], suite, env)
            stats = profile_run(suite, extra, root / "run.prof", env)
            print(f"\n## cProfile, {args.tests} tests, {label}: total "
                  f"{stats.total_tt * 1e3:.0f} ms (profiled)")  # type: ignore[attr-defined]
            print(" self us/test   cum us/test    calls  function")
            for self_us, cum_us, ncalls, where in plugin_rows(stats, args.tests, args.top):
                print(f"{self_us:12.2f} {cum_us:13.2f} {ncalls:8d}  {where}")
        if args.callgrind and shutil.which("valgrind"):
            cg = callgrind(root, env)
            print("\n## instructions (callgrind, PYTHONHASHSEED=0), millions")
            print("  " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in cg["instructions"].items()))
            print(f"start-up: off {cg['startup_off'] / 1e6:.1f} M, plugin adds "
                  f"{cg['startup_added'] / 1e6:.2f} M "
                  f"({cg['startup_added'] / cg['startup_off'] * 100:.1f} %)")
            print(f"per trivial test: off {cg['per_test']['off'] / 1e3:.0f} k; plugin on adds "
                  f"{cg['unmarked_added_per_test'] / 1e3:.1f} k "
                  f"({cg['unmarked_added_per_test'] / cg['per_test']['off'] * 100:.1f} %); "
                  f"measuring (estimate) adds {cg['measured_added_per_test'] / 1e3:.1f} k more")
            print(f"implied on/off ratio for 2,000 unmarked tests: {cg['ratio_2000']:.4f} "
                  f"(per-test part alone {cg['ratio_2000_without_startup']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
