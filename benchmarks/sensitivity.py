"""Does the reported energy follow the work? 2x the work should report 2x the energy.

Run: ``.venv/bin/python benchmarks/sensitivity.py [--quick] [--json out.json]``

The work is a fixed count of pure-Python operations (``spin(n)``: n multiply-adds), not
a fixed CPU time, so on a busy machine it takes longer but stays the same work. For
each meter: the energy of ``spin(n)``, of ``spin(2n)`` and of a sleep as long as
``spin(n)`` took; the figures are medians of several repetitions (interleaved).

- ``estimate`` directly (``pytest_greenbudget.meters.estimate.EstimateMeter`` through the
  plugin's ``MeterSet``/``delta``) and through a pytest run with the JSON report;
- ``codecarbon`` through the plugin's ``CodecarbonMeter`` (or codecarbon's task API
  when that module is absent) and through a pytest run with
  ``--greenbudget-meter=codecarbon``.

Goal: energy(2n) / energy(n) = 2.0 +- 0.1. A sleep costs nothing to a per-process
meter; a machine-wide model charges it the idle CPU and the RAM.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    clean_env,
    have_codecarbon_meter,
    machine_line,
    markdown_table,
    median,
    run_timed,
    spin,
    write_json,
)

GOAL = 2.0
GOAL_TOLERANCE = 0.1

Measure = Callable[[Callable[[], object]], dict[str, float]]


def estimate_measure() -> tuple[Measure, Callable[[], None]]:
    from pytest_greenbudget.measure import MeterSet, delta
    from pytest_greenbudget.meters.estimate import EstimateMeter

    meters = MeterSet([EstimateMeter()])

    def measure(body: Callable[[], object]) -> dict[str, float]:
        before = meters.read()
        body()
        return dict(delta(before, meters.read()).domains)

    return measure, meters.close


def codecarbon_measure() -> tuple[Measure, Callable[[], None], str]:
    """The plugin's CodecarbonMeter when present, else codecarbon's own task API."""
    if have_codecarbon_meter():
        from pytest_greenbudget.measure import MeterSet, delta
        from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

        meters = MeterSet([CodecarbonMeter()])
        meters.read()

        def measure(body: Callable[[], object]) -> dict[str, float]:
            before = meters.read()
            body()
            return dict(delta(before, meters.read()).domains)

        return measure, meters.close, "CodecarbonMeter"

    import warnings

    from codecarbon import OfflineEmissionsTracker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracker = OfflineEmissionsTracker(country_iso_code="USA", output_methods=[],
                                          log_level="error", allow_multiple_runs=True,
                                          output_dir=tempfile.gettempdir())

    def task(body: Callable[[], object]) -> dict[str, float]:
        tracker.start_task()
        body()
        data = tracker.stop_task()
        return {d: getattr(data, f"{d}_energy") * 3.6e6 for d in ("cpu", "gpu", "ram")}

    return task, lambda: None, "task API"


def direct(measure: Measure, n: int, reps: int, sleep_s: float | None) -> dict[str, Any]:
    """Interleaved repetitions of 1x work, 2x work, and a sleep as long as the 1x work."""
    one: list[dict[str, float]] = []
    two: list[dict[str, float]] = []
    slept: list[dict[str, float]] = []
    walls: list[float] = []
    measure(lambda: spin(n // 10))  # warm-up
    for _ in range(reps):
        t0 = time.perf_counter()
        one.append(measure(lambda: spin(n)))
        walls.append(time.perf_counter() - t0)
        two.append(measure(lambda: spin(2 * n)))
        pause = sleep_s if sleep_s is not None else walls[-1]
        slept.append(measure(lambda: time.sleep(pause)))  # noqa: B023
    return summarize(one, two, slept, median(walls) if sleep_s is None else sleep_s)


def summarize(one: list[dict[str, float]], two: list[dict[str, float]],
              slept: list[dict[str, float]], sleep_s: float) -> dict[str, Any]:
    def total(rows: list[dict[str, float]]) -> float:
        return median(sum(r.values()) for r in rows)

    def domain(rows: list[dict[str, float]], name: str) -> float:
        return median(r.get(name, 0.0) for r in rows)

    e1, e2, es = total(one), total(two), total(slept)
    out: dict[str, Any] = {
        "reps": len(one),
        "sleep_s": sleep_s,
        "joules_1x": e1,
        "joules_2x": e2,
        "joules_sleep": es,
        "ratio": e2 / e1 if e1 else float("nan"),
        "ratio_paired": median(sum(b.values()) / sum(a.values())
                               for a, b in zip(one, two, strict=True) if sum(a.values())),
        "sleep_over_work": es / e1 if e1 else float("nan"),
        "domains": sorted({k for r in one for k in r}),
    }
    if "cpu" in out["domains"] and len(out["domains"]) > 1:
        c1, c2 = domain(one, "cpu"), domain(two, "cpu")
        out["cpu_ratio"] = c2 / c1 if c1 else float("nan")
        out["cpu_sleep_over_work"] = domain(slept, "cpu") / c1 if c1 else float("nan")
    return out


TEST_FILE = '''\
import time

import pytest

N = {n}
SLEEP = {sleep!r}


def spin(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


@pytest.mark.energy_budget(rounds={rounds})
def test_work_1x():
    spin(N)


@pytest.mark.energy_budget(rounds={rounds})
def test_work_2x():
    spin(2 * N)


@pytest.mark.energy_budget(rounds={rounds})
def test_sleep():
    time.sleep(SLEEP)
'''


def through_pytest(root: Path, n: int, sleep_s: float, rounds: int, meter: str | None,
                   env: dict[str, str]) -> dict[str, Any]:
    project = root / f"sens_{meter or 'auto'}"
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    (project / "test_work.py").write_text(
        TEST_FILE.format(n=n, sleep=round(sleep_s, 4), rounds=rounds), encoding="utf-8")
    report = project / "energy.json"
    args = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--greenbudget-json={report}"]
    if meter:
        args.append(f"--greenbudget-meter={meter}")
    run_timed(args, project, env)
    doc = json.loads(report.read_text(encoding="utf-8"))
    by_name = {e["id"].rsplit("::", 1)[-1]: e for e in doc["entries"]}
    one, two, slept = by_name["test_work_1x"], by_name["test_work_2x"], by_name["test_sleep"]
    out = summarize([one["domains"]], [two["domains"]], [slept["domains"]], sleep_s)
    out.update(reps=1, rounds=rounds, meters=[m["name"] for m in doc["meters"]])
    return out


def fmt_row(name: str, path: str, r: dict[str, Any]) -> list[str]:
    ok = abs(r["ratio"] - GOAL) <= GOAL_TOLERANCE
    cpu = (f" (cpu domain {r['cpu_ratio']:.2f}, sleep/work {r['cpu_sleep_over_work']:.2f})"
           if "cpu_ratio" in r else "")
    return [name, path, f"{r['joules_1x']:.3g}", f"{r['joules_2x']:.3g}",
            f"{r['ratio']:.3f}{cpu}", f"{r['joules_sleep']:.3g}", f"{r['sleep_over_work']:.3f}",
            "yes" if ok else "**no**"]


def summary_rows(data: dict[str, Any]) -> list[list[str]]:
    est, cc = data["estimate"], data.get("codecarbon")

    def both(results: dict[str, Any], key: str, spec: str) -> str:
        direct_, pytest_ = results["direct"], results["pytest"]
        return f"{direct_[key]:{spec}} direct, {pytest_[key]:{spec}} via pytest"

    ok = all(abs(est[p]["ratio"] - GOAL) <= GOAL_TOLERANCE for p in ("direct", "pytest"))
    return [
        [
            "energy ratio, 2x the work / 1x the work (fixed op count)",
            both(est, "ratio", ".3f") + " (estimate)",
            both(cc, "ratio", ".3f") if cc else "n/a",
            f"{GOAL} +- {GOAL_TOLERANCE}",
            "yes" if ok else "**no**",
        ],
        [
            "energy of an equally long sleep / energy of the work",
            both(est, "sleep_over_work", ".3f") + " (estimate)",
            both(cc, "sleep_over_work", ".2f") if cc else "n/a",
            "~0 for a per-process meter",
            "yes" if max(est["direct"]["sleep_over_work"],
                         est["pytest"]["sleep_over_work"]) < 0.05 else "**no**",
        ],
    ]


HEADERS = ["meter", "path", "E(1x) J", "E(2x) J", "ratio 2x/1x", "E(sleep) J", "sleep/work",
           "ratio in 2.0+-0.1?"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less work, fewer repetitions")
    parser.add_argument("--ops", type=int, default=None, help="operations in the 1x work")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--no-codecarbon", action="store_true", help="skip codecarbon")
    args = parser.parse_args()
    started = time.perf_counter()
    quick = args.quick
    n = args.ops or (6_000_000 if quick else 12_000_000)
    reps = 3 if quick else 5
    with_cc = not args.no_codecarbon
    try:
        import codecarbon  # noqa: F401
    except ImportError:
        with_cc = False
    print(f"# sensitivity.py -- {machine_line()}")
    print(f"# work: spin({n:,}) and spin({2 * n:,}); medians of {reps} interleaved repetitions "
          "(pytest runs: median of 3 rounds per test)", flush=True)
    data: dict[str, Any] = {"ops": n, "quick": quick}
    measure, close = estimate_measure()
    data["estimate"] = {"direct": direct(measure, n, reps, None)}
    close()
    sleep_s = data["estimate"]["direct"]["sleep_s"]
    print(f"estimate direct done (1x work took {sleep_s:.2f} s wall)", flush=True)
    with tempfile.TemporaryDirectory(prefix="gb-sensitivity-") as tmp:
        env = clean_env(pycache=Path(tmp) / "pycache")
        data["estimate"]["pytest"] = through_pytest(Path(tmp), n, sleep_s, 3, None, env)
        print("estimate via pytest done", flush=True)
        if with_cc:
            measure, close, how = codecarbon_measure()
            data["codecarbon"] = {"direct": direct(measure, n, max(2, reps - 2), sleep_s),
                                  "how": how}
            close()
            print(f"codecarbon direct ({how}) done", flush=True)
            if have_codecarbon_meter():
                data["codecarbon"]["pytest"] = through_pytest(Path(tmp), n, sleep_s, 3,
                                                              "codecarbon", env)
                print("codecarbon via pytest done", flush=True)
            else:
                data["codecarbon"]["pytest"] = data["codecarbon"]["direct"]
    rows = [fmt_row("estimate", "EstimateMeter direct", data["estimate"]["direct"]),
            fmt_row("estimate", f"pytest JSON ({data['estimate']['pytest']['meters']})",
                    data["estimate"]["pytest"])]
    if "codecarbon" in data:
        cc = data["codecarbon"]
        rows.append(fmt_row("codecarbon", f"{cc['how']} direct", cc["direct"]))
        if cc["pytest"] is not cc["direct"]:
            rows.append(fmt_row("codecarbon", "pytest JSON, --greenbudget-meter=codecarbon",
                                cc["pytest"]))
    print()
    print(markdown_table(HEADERS, rows))
    data["rows"] = summary_rows(data)
    data["headers"] = ["metric", "pytest-greenbudget", "codecarbon", "goal", "met?"]
    print()
    print(markdown_table(data["headers"], data["rows"]))
    data["seconds"] = time.perf_counter() - started
    print(f"\n(sensitivity.py took {data['seconds']:.0f} s)")
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
