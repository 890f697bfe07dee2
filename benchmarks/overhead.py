"""What pytest-greenbudget costs: unmarked tests, measured tests, start-up, import.

Run: ``.venv/bin/python benchmarks/overhead.py [--quick] [--json out.json]``

Every pytest run is a subprocess in a generated temporary project. The configurations
are run in alternating (rotated) order, several repetitions each, and the figures are
medians, because the machine is small and shared. "CPU" figures are the user+system
time of the pytest process, which other processes disturb less than the wall clock.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    clean_env,
    cv_percent,
    fmt,
    have_codecarbon_meter,
    machine_line,
    markdown_table,
    median,
    run_timed,
    write_json,
)

PYTEST = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider"]
GOAL_RATIO = 1.02
GOAL_PER_TEST_MS = 0.1
GOAL_STARTUP_MS = 30.0


# --------------------------------------------------------------------------------------
# generated projects


def make_suite(root: Path, n_tests: int, per_file: int = 100) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    made = 0
    index = 0
    while made < n_tests:
        count = min(per_file, n_tests - made)
        body = "".join(f"def test_{i}():\n    pass\n\n" for i in range(count))
        (root / f"test_trivial_{index:03d}.py").write_text(body, encoding="utf-8")
        made += count
        index += 1
    return root


def make_tiny(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    (root / "test_one.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
    return root


# --------------------------------------------------------------------------------------
# 2,000 trivial tests: unmarked on/off, and measured (--greenbudget-all) per meter

MAIN_CONFIGS = {
    "off": ["-p", "no:greenbudget"],
    "on": [],  # meter = "auto": rapl where readable, else estimate
    "estimate_all": ["--greenbudget-all"],
}
CC_CONFIGS = {
    "off": ["-p", "no:greenbudget"],
    "codecarbon_on": ["--greenbudget-meter=codecarbon"],
    "codecarbon_all": ["--greenbudget-meter=codecarbon", "--greenbudget-all"],
}


def _meters_of(project: Path, extra: list[str], env: dict[str, str]) -> list[str]:
    out = project / "greenbudget-check.json"
    run_timed([*PYTEST, "-q", *extra, f"--greenbudget-json={out}"], project, env)
    names = [m["name"] for m in json.loads(out.read_text())["meters"]]
    out.unlink()
    return names


def run_configs(
    project: Path, n_tests: int, reps: int, configs: dict[str, list[str]], env: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[str]]]:
    """Wall and CPU seconds of each configuration, in rotated order, after a warm-up."""
    meters = {name: _meters_of(project, extra, env) for name, extra in configs.items()
              if name.endswith("_all")}
    for extra in configs.values():  # warm-up: page cache, bytecode of the plugin and pytest
        run_timed([*PYTEST, "-q", *extra], project, env)
    names = list(configs)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        if rep % 2:
            order.reverse()
        for name in order:
            w, c, proc = run_timed([*PYTEST, "-q", *configs[name]], project, env)
            if f"{n_tests} passed" not in proc.stdout:
                raise RuntimeError(f"{name}: expected {n_tests} passed:\n{proc.stdout[-2000:]}")
            wall[name].append(w)
            cpu[name].append(c)
        print(f"  {n_tests} tests, rep {rep + 1}/{reps}: " + ", ".join(
            f"{n} {wall[n][-1] * 1e3:.0f} ms" for n in names), flush=True)
    return wall, cpu, meters


def _paired(a: list[float], b: list[float]) -> float:
    """Median of the per-repetition differences a - b."""
    return median(x - y for x, y in zip(a, b, strict=True))


def bench_suite(
    root: Path, n_tests: int, reps: int, cc_tests: int, cc_reps: int, with_cc: bool,
    env: dict[str, str],
) -> dict[str, Any]:
    project = make_suite(root / "suite", n_tests)
    wall, cpu, meters = run_configs(project, n_tests, reps, MAIN_CONFIGS, env)
    result: dict[str, Any] = {
        "n_tests": n_tests,
        "reps": reps,
        "meters": meters,
        "wall_ms": {n: median(v) * 1e3 for n, v in wall.items()},
        "cpu_ms": {n: median(v) * 1e3 for n, v in cpu.items()},
        "wall_raw_ms": {n: [round(x * 1e3, 1) for x in v] for n, v in wall.items()},
        "ratio_wall": median(wall["on"]) / median(wall["off"]),
        "ratio_wall_paired": median(a / b for a, b in zip(wall["on"], wall["off"], strict=True)),
        "ratio_cpu": median(cpu["on"]) / median(cpu["off"]),
        "wall_cv_off": cv_percent(wall["off"]),
        "wall_cv_on": cv_percent(wall["on"]),
        "added_wall_ms": _paired(wall["on"], wall["off"]) * 1e3,
        "added_cpu_ms": _paired(cpu["on"], cpu["off"]) * 1e3,
        "estimate_per_test_ms": _paired(wall["estimate_all"], wall["on"]) / n_tests * 1e3,
        "estimate_per_test_cpu_ms": _paired(cpu["estimate_all"], cpu["on"]) / n_tests * 1e3,
    }
    if with_cc and cc_reps:
        # codecarbon costs milliseconds per test: fewer tests and repetitions suffice.
        cc_project = make_suite(root / "suite_cc", cc_tests)
        cc_wall, cc_cpu, cc_meters = run_configs(cc_project, cc_tests, cc_reps, CC_CONFIGS, env)
        fixed = _paired(cc_wall["codecarbon_on"], cc_wall["off"])
        result.update(
            cc_tests=cc_tests,
            cc_reps=cc_reps,
            cc_meters=cc_meters,
            cc_wall_ms={n: median(v) * 1e3 for n, v in cc_wall.items()},
            cc_cpu_ms={n: median(v) * 1e3 for n, v in cc_cpu.items()},
            codecarbon_fixed_ms=fixed * 1e3,
            # the same fixed cost on top of the unmarked suite above
            codecarbon_ratio_wall=(median(wall["off"]) + fixed) / median(wall["off"]),
            codecarbon_per_test_ms=_paired(cc_wall["codecarbon_all"], cc_wall["codecarbon_on"])
            / cc_tests * 1e3,
            codecarbon_per_test_cpu_ms=_paired(cc_cpu["codecarbon_all"], cc_cpu["codecarbon_on"])
            / cc_tests * 1e3,
        )
    return result


# --------------------------------------------------------------------------------------
# start-up: pytest --collect-only -q on a one-test project


def _startup_pairs(
    project: Path, reps: int, env: dict[str, str], on: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    configs = {"off": ["-p", "no:greenbudget"], "on": on}
    for extra in configs.values():
        run_timed([*PYTEST, "--collect-only", "-q", *extra], project, env)
    wall: dict[str, list[float]] = {n: [] for n in configs}
    cpu: dict[str, list[float]] = {n: [] for n in configs}
    for rep in range(reps):
        order = list(configs) if rep % 2 == 0 else list(reversed(configs))
        for name in order:
            w, c, _ = run_timed([*PYTEST, "--collect-only", "-q", *configs[name]], project, env)
            wall[name].append(w)
            cpu[name].append(c)
    return wall, cpu


def bench_startup(
    root: Path, reps: int, cold_reps: int, cc_reps: int, with_cc: bool, env: dict[str, str]
) -> dict[str, Any]:
    project = make_tiny(root / "tiny")
    wall, cpu = _startup_pairs(project, reps, env, [])
    result: dict[str, Any] = {
        "reps": reps,
        "wall_ms": {n: median(v) * 1e3 for n, v in wall.items()},
        "added_ms": _paired(wall["on"], wall["off"]) * 1e3,
        "added_cpu_ms": _paired(cpu["on"], cpu["off"]) * 1e3,
    }
    if cold_reps:  # as in an environment with PYTHONDONTWRITEBYTECODE=1 and no bytecode
        cold_wall, cold_cpu = _startup_pairs(project, cold_reps, clean_env(None), [])
        result.update(
            cold_reps=cold_reps,
            cold_added_ms=_paired(cold_wall["on"], cold_wall["off"]) * 1e3,
            cold_added_cpu_ms=_paired(cold_cpu["on"], cold_cpu["off"]) * 1e3,
        )
    if with_cc and cc_reps:
        cc_wall, _ = _startup_pairs(project, cc_reps, env, ["--greenbudget-meter=codecarbon"])
        result["codecarbon_added_ms"] = _paired(cc_wall["on"], cc_wall["off"]) * 1e3
        result["codecarbon_reps"] = cc_reps
    return result


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def bench_importtime(reps: int, env: dict[str, str]) -> dict[str, Any]:
    """-X importtime of the plugin: alone (pytest included), and on top of pytest."""

    def parse(code: str) -> list[list[tuple[str, int, int, int]]]:
        runs = []
        for _ in range(reps):
            proc = subprocess.run([PYTHON, "-X", "importtime", "-c", code], env=env,
                                  capture_output=True, text=True, check=True)
            rows = []
            for line in proc.stderr.splitlines():
                match = _IMPORTTIME.match(line)
                if match:
                    rows.append((match.group(4), int(match.group(1)), int(match.group(2)),
                                 len(match.group(3))))
            runs.append(rows)
        return runs

    alone = parse("import pytest_greenbudget.plugin")
    total_alone = median(next(c for n, _, c, _ in r if n == "pytest_greenbudget.plugin")
                         for r in alone) / 1e3
    top_level: dict[str, list[int]] = {}
    for rows in alone:
        for name, _, cumulative, depth in rows:
            if depth == 1:
                top_level.setdefault(name, []).append(cumulative)
    top_alone = sorted(((n, median(v) / 1e3) for n, v in top_level.items()),
                       key=lambda t: -t[1])[:6]

    own = parse("import pytest; import pytest_greenbudget.plugin")
    own_total = median(next(c for n, _, c, _ in r if n == "pytest_greenbudget.plugin")
                       for r in own) / 1e3
    self_times: dict[str, list[int]] = {}
    for rows in own:
        start = max(i for i, row in enumerate(rows) if row[0] == "pytest" and row[3] == 1) + 1
        for name, self_us, _, _ in rows[start:]:
            self_times.setdefault(name, []).append(self_us)
    top_own = sorted(((n, median(v) / 1e3) for n, v in self_times.items()),
                     key=lambda t: -t[1])[:10]
    heavy = subprocess.run(
        [PYTHON, "-c", "import sys, pytest_greenbudget.plugin, pytest_greenbudget.lifecycle;"
         "print(','.join(m for m in ('codecarbon','pynvml','pandas','numpy','torch')"
         " if m in sys.modules))"], env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    return {
        "reps": reps,
        "plugin_with_pytest_ms": total_alone,
        "top_level_ms": top_alone,
        "plugin_over_pytest_ms": own_total,
        "top_self_over_pytest_ms": top_own,
        "heavy_modules_imported": heavy.split(",") if heavy else [],
    }


# --------------------------------------------------------------------------------------
# in-process micro-benchmarks (in a fresh child, so codecarbon's first start is seen)


def micro_child(quick: bool) -> dict[str, Any]:
    import warnings

    from pytest_greenbudget.measure import MeterSet, delta
    from pytest_greenbudget.meters.estimate import EstimateMeter

    out: dict[str, Any] = {}

    def per_call(fn: Any, n: int, batches: int = 5) -> float:
        """Median over batches of the mean seconds per call."""
        times = []
        for _ in range(batches):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times.append((time.perf_counter() - t0) / n)
        return statistics.median(times)

    est = EstimateMeter()
    est_set = MeterSet([est])
    out["estimate_read_us"] = per_call(est.read, 20000) * 1e6

    def est_window() -> None:  # what the plugin does around one measured call phase
        before = est_set.read()
        delta(before, est_set.read())

    out["estimate_window_us"] = per_call(est_window, 20000) * 1e6
    if not have_codecarbon_meter():
        return out

    t0 = time.perf_counter()
    import codecarbon  # noqa: F401
    from codecarbon import OfflineEmissionsTracker
    out["codecarbon_import_ms"] = (time.perf_counter() - t0) * 1e3
    workdir = tempfile.mkdtemp(prefix="gb-cc-")
    options = dict(country_iso_code="USA", output_methods=[], log_level="error",
                   output_dir=workdir, allow_multiple_runs=True)

    # A fresh tracker per test, as pytest-codecarbon does. "quiet": offline, nothing
    # written (a lower bound); "csv": codecarbon's default output, a CSV row per tracker
    # (pytest-codecarbon also reads it back with pandas, not counted here).
    iterations = 8 if quick else 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, opts in (
            ("", options),
            ("_csv", {k: v for k, v in options.items() if k != "output_methods"}),
        ):
            fresh = []
            for _ in range(iterations + 1):
                t0 = time.perf_counter()
                tracker = OfflineEmissionsTracker(**opts)
                tracker.start()
                tracker.stop()
                fresh.append(time.perf_counter() - t0)
            out[f"fresh_tracker{label}_first_ms"] = fresh[0] * 1e3
            out[f"fresh_tracker{label}_ms"] = statistics.median(fresh[1:]) * 1e3
    out["fresh_tracker_n"] = iterations

    # codecarbon's own task API around an empty body, one long-lived tracker.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracker = OfflineEmissionsTracker(**options)
        tracker.start_task("warm")
        tracker.stop_task()

        def task_pair() -> None:
            tracker.start_task()
            tracker.stop_task()

        out["task_api_pair_ms"] = per_call(task_pair, 100 if quick else 300) * 1e3
        out["task_api_tasks_kept"] = len(tracker._tasks)

    # The plugin's codecarbon meter around an empty body: two reads and a delta.
    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

    meter = CodecarbonMeter()
    cc_set = MeterSet([meter])
    cc_set.read()

    def cc_window() -> None:
        before = cc_set.read()
        delta(before, cc_set.read())

    out["codecarbon_meter_read_ms"] = per_call(meter.read, 100 if quick else 300) * 1e3
    out["codecarbon_meter_window_ms"] = per_call(cc_window, 100 if quick else 300) * 1e3
    meter.close()
    return out


def bench_micro(quick: bool, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gb-micro-") as cwd:
        proc = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--micro-child"]
            + (["--quick"] if quick else []),
            cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"micro-benchmark child failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------


def summary_rows(data: dict[str, Any]) -> list[list[str]]:
    """metric | pytest-greenbudget | codecarbon | goal | met? (the goal is the plugin's)."""
    suite, start, imp, micro = data["suite"], data["startup"], data["importtime"], data["micro"]
    cc = "codecarbon_per_test_ms" in suite

    def met(wall: float, cpu: float, goal: float, noisy: bool = False) -> str:
        ok_wall, ok_cpu = wall <= goal, cpu <= goal
        if noisy:  # the wall clock cannot resolve the goal on this machine today
            return f"wall inconclusive (CV {suite['wall_cv_off']:.0f} %), CPU " + (
                "yes" if ok_cpu else "**no**")
        if ok_wall and ok_cpu:
            return "yes"
        if not ok_wall and not ok_cpu:
            return "**no**"
        return f"wall {'yes' if ok_wall else '**no**'}, CPU {'yes' if ok_cpu else '**no**'}"

    # A median of r runs with coefficient of variation c is uncertain by about
    # 1.25 c / sqrt(r); a ratio of two such medians by sqrt(2) times that.
    ratio_noise = 1.25 * 1.414 * max(suite["wall_cv_off"], suite["wall_cv_on"]) / 100 / (
        suite["reps"] ** 0.5)
    noisy = ratio_noise > (GOAL_RATIO - 1)

    n = suite["n_tests"]
    rows = [
        [
            f"time ratio, {n:,} unmarked trivial tests, plugin on / off",
            f"{suite['ratio_wall']:.3f} wall ({suite['wall_ms']['on']:.0f} / "
            f"{suite['wall_ms']['off']:.0f} ms), {suite['ratio_cpu']:.3f} CPU "
            f"(+{suite['added_cpu_ms']:.0f} ms, of which start-up {start['added_cpu_ms']:.0f} ms)",
            f"{suite['codecarbon_ratio_wall']:.2f} wall (meter=codecarbon: "
            f"+{suite['codecarbon_fixed_ms']:.0f} ms once)" if cc else "n/a",
            f"<= {GOAL_RATIO}",
            met(suite["ratio_wall"], suite["ratio_cpu"], GOAL_RATIO, noisy),
        ],
        [
            "added time per measured trivial test (pytest run)",
            f"{suite['estimate_per_test_ms']:.3f} ms wall, "
            f"{suite['estimate_per_test_cpu_ms']:.3f} ms CPU (estimate)",
            f"{suite['codecarbon_per_test_ms']:.2f} ms wall, "
            f"{suite['codecarbon_per_test_cpu_ms']:.2f} ms CPU (meter=codecarbon)" if cc else "n/a",
            f"<= {GOAL_PER_TEST_MS} ms",
            met(suite["estimate_per_test_ms"], suite["estimate_per_test_cpu_ms"],
                GOAL_PER_TEST_MS),
        ],
        [
            "in-process cost of one measured window around an empty body",
            f"{micro['estimate_window_us']:.1f} us (2 x MeterSet.read + delta, estimate)",
            f"{micro['task_api_pair_ms']:.2f} ms (start_task + stop_task); "
            f"{micro['codecarbon_meter_window_ms']:.2f} ms (plugin's CodecarbonMeter)"
            if "task_api_pair_ms" in micro else "n/a",
            "-", "-",
        ],
        [
            "fresh tracker per test (pytest-codecarbon's way)",
            "n/a",
            f"{micro['fresh_tracker_ms']:.1f} ms quiet / {micro['fresh_tracker_csv_ms']:.1f} ms "
            f"with CSV, per test (+ {micro['fresh_tracker_first_ms'] / 1e3:.1f} s first)"
            if "fresh_tracker_ms" in micro else "n/a",
            "-", "-",
        ],
        [
            "added start-up, `pytest --collect-only -q`, one test",
            f"{start['added_ms']:.1f} ms wall, {start['added_cpu_ms']:.1f} ms CPU"
            + (f" ({start['cold_added_ms']:.0f} ms without cached bytecode)"
               if "cold_added_ms" in start else ""),
            f"{start['codecarbon_added_ms']:.0f} ms (meter=codecarbon)"
            if "codecarbon_added_ms" in start else "n/a",
            f"<= {GOAL_STARTUP_MS:g} ms",
            met(start["added_ms"], start["added_cpu_ms"], GOAL_STARTUP_MS),
        ],
        [
            "import of the plugin on top of pytest",
            f"{imp['plugin_over_pytest_ms']:.1f} ms; heavy modules: "
            f"{', '.join(imp['heavy_modules_imported']) or 'none'}",
            f"{micro['codecarbon_import_ms']:.0f} ms (`import codecarbon`)"
            if "codecarbon_import_ms" in micro else "n/a",
            "imports no codecarbon, pynvml, pandas, numpy, torch",
            "yes" if not imp["heavy_modules_imported"] else "**no**",
        ],
    ]
    return rows


HEADERS = ["metric", "pytest-greenbudget", "codecarbon", "goal", "met?"]


def report(data: dict[str, Any]) -> None:
    s, st, imp, mi = data["suite"], data["startup"], data["importtime"], data["micro"]
    print(f"\nmeters in the measured runs: {s['meters']} {s.get('cc_meters', '')}")
    print(f"{s['n_tests']} tests, medians of {s['reps']}: wall ms "
          + ", ".join(f"{k} {v:.0f}" for k, v in s["wall_ms"].items())
          + "; CPU ms " + ", ".join(f"{k} {v:.0f}" for k, v in s["cpu_ms"].items()))
    print(f"unmarked on/off: wall {s['ratio_wall']:.3f} (median of paired ratios "
          f"{s['ratio_wall_paired']:.3f}; +{s['added_wall_ms']:.0f} ms; wall CV off "
          f"{s['wall_cv_off']:.1f} %, on {s['wall_cv_on']:.1f} %), CPU {s['ratio_cpu']:.3f} "
          f"(+{s['added_cpu_ms']:.0f} ms)")
    per_test = (s["added_cpu_ms"] - st["added_cpu_ms"]) / s["n_tests"] * 1e3
    print(f"  of which start-up {st['added_cpu_ms']:.0f} ms CPU (below); the rest is "
          f"{per_test:.1f} us CPU per unmarked test")
    print(f"estimate, per measured test: wall {s['estimate_per_test_ms']:.3f} ms, "
          f"CPU {s['estimate_per_test_cpu_ms']:.3f} ms")
    if "cc_wall_ms" in s:
        print(f"{s['cc_tests']} tests, medians of {s['cc_reps']}: wall ms "
              + ", ".join(f"{k} {v:.0f}" for k, v in s["cc_wall_ms"].items())
              + "; CPU ms " + ", ".join(f"{k} {v:.0f}" for k, v in s["cc_cpu_ms"].items()))
        print(f"codecarbon meter: fixed start-up {s['codecarbon_fixed_ms']:.0f} ms; per measured "
              f"test wall {s['codecarbon_per_test_ms']:.3f} ms, "
              f"CPU {s['codecarbon_per_test_cpu_ms']:.3f} ms")
    print(f"start-up (collect-only, 1 test, medians of {st['reps']}): off "
          f"{st['wall_ms']['off']:.0f} ms, on {st['wall_ms']['on']:.0f} ms, added "
          f"{st['added_ms']:.1f} ms wall / {st['added_cpu_ms']:.1f} ms CPU")
    if "cold_added_ms" in st:
        print(f"  without cached bytecode (PYTHONDONTWRITEBYTECODE=1, {st['cold_reps']} reps): "
              f"added {st['cold_added_ms']:.1f} ms wall / {st['cold_added_cpu_ms']:.1f} ms CPU")
    if "codecarbon_added_ms" in st:
        print(f"  --greenbudget-meter=codecarbon ({st['codecarbon_reps']} reps): added "
              f"{st['codecarbon_added_ms']:.0f} ms")
    print(f"python -X importtime -c 'import pytest_greenbudget.plugin' (median of {imp['reps']}):"
          f" {imp['plugin_with_pytest_ms']:.1f} ms with pytest, "
          f"{imp['plugin_over_pytest_ms']:.1f} ms on top of an imported pytest; "
          f"heavy modules imported: {imp['heavy_modules_imported'] or 'none'}")
    print("  top-level imports (cumulative ms): "
          + ", ".join(f"{n} {t:.1f}" for n, t in imp["top_level_ms"]))
    print("  largest self times on top of pytest (ms): "
          + ", ".join(f"{n} {t:.2f}" for n, t in imp["top_self_over_pytest_ms"]))
    print("in-process: " + ", ".join(f"{k} {fmt(v, '.4g')}" for k, v in mi.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 1 min)")
    parser.add_argument("--tests", type=int, default=2000, help="trivial tests in the suite")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of each suite run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--no-codecarbon", action="store_true", help="skip codecarbon runs")
    parser.add_argument("--micro-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.micro_child:
        print(json.dumps(micro_child(args.quick)))
        return 0

    with_cc = have_codecarbon_meter() and not args.no_codecarbon
    quick = args.quick
    reps = args.reps or (3 if quick else 7)
    started = time.perf_counter()
    print(f"# overhead.py -- {machine_line()}")
    print(f"# figures are medians of alternating repetitions ({reps} for the suite); "
          f"codecarbon meter {'included' if with_cc else 'not available or skipped'}", flush=True)
    data: dict[str, Any] = {"quick": quick}
    with tempfile.TemporaryDirectory(prefix="gb-overhead-") as tmp:
        root = Path(tmp)
        env = clean_env(pycache=root / "pycache")  # bytecode cached, as when installed
        print(f"\n## {args.tests:,} trivial tests", flush=True)
        data["suite"] = bench_suite(root, args.tests, reps, max(100, args.tests // 4),
                                    1 if quick else 3, with_cc, env)
        print("\n## start-up", flush=True)
        data["startup"] = bench_startup(root, 7 if quick else 15, 3 if quick else 5,
                                        1 if quick else 3, with_cc, env)
        data["importtime"] = bench_importtime(3 if quick else 7, env)
        print("## in-process micro-benchmarks", flush=True)
        data["micro"] = bench_micro(quick, env)
    report(data)
    rows = summary_rows(data)
    data["rows"] = rows
    data["headers"] = HEADERS
    data["seconds"] = time.perf_counter() - started
    print()
    print(markdown_table(HEADERS, rows))
    print(f"\n(overhead.py took {data['seconds']:.0f} s)")
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
