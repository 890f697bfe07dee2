"""How noisy is a measurement, next to the machine's own noise?

Run: ``.venv/bin/python benchmarks/noise.py [--quick] [--json out.json]``

While a busy-loop process loads another core, the same fixed work (``spin(n)``, a fixed
count of pure-Python operations) is measured ten times; the coefficient of variation
(CV = sample standard deviation / mean) of the reported energy is set beside the CV of
the work's own CPU time (``time.process_time``) in the same runs: that is the
machine's noise, which no meter can remove. Each measurement is one round, or the
median of 3 or 5 rounds, as the ``rounds`` marker argument does (the rounds use the
plugin's own ``MeterSet``, ``delta`` and ``median``). The round counts are interleaved.

Goal: the plugin adds at most 1 percentage point of CV over the CPU time's CV.

Two scenarios (``--busy``): one busy-loop process (the other core is loaded, this
process keeps a core to itself), and, unless ``--quick``, as many busy loops as there
are cores (this process time-shares a core, so its wall time varies much more).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from _common import (
    cv_percent,
    have_codecarbon_meter,
    load_busy,
    machine_line,
    markdown_table,
    median,
    spin,
    stop_busy,
    write_json,
)

GOAL_PP = 1.0


def series(meters: Any, n: int, round_counts: tuple[int, ...], count: int) -> dict[int, Any]:
    from pytest_greenbudget.measure import delta
    from pytest_greenbudget.measure import median as median_rounds

    data: dict[int, dict[str, list[float]]] = {
        k: {"joules": [], "cpu": [], "wall": []} for k in round_counts
    }
    meters.read()
    spin(n // 10)  # warm-up
    for _ in range(count):
        for k in round_counts:
            measurements, cpu = [], []
            for _ in range(k):
                before = meters.read()
                c0 = time.process_time()
                spin(n)
                c1 = time.process_time()
                measurements.append(delta(before, meters.read()))
                cpu.append(c1 - c0)
            m = median_rounds(measurements)
            data[k]["joules"].append(m.joules)
            data[k]["cpu"].append(median(cpu))
            data[k]["wall"].append(m.seconds)
    out: dict[int, Any] = {}
    for k, d in data.items():
        cv_e, cv_c = cv_percent(d["joules"]), cv_percent(d["cpu"])
        out[k] = {
            "cv_energy": cv_e,
            "cv_cpu": cv_c,
            "cv_wall": cv_percent(d["wall"]),
            "added_pp": cv_e - cv_c,
            "mean_joules": sum(d["joules"]) / len(d["joules"]),
            "median_cpu_s": median(d["cpu"]),
            "median_wall_s": median(d["wall"]),
        }
    return out


def estimate_meters() -> Any:
    from pytest_greenbudget.measure import MeterSet
    from pytest_greenbudget.meters.estimate import EstimateMeter

    return MeterSet([EstimateMeter()])


def codecarbon_meters() -> Any:
    from pytest_greenbudget.measure import MeterSet
    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter

    return MeterSet([CodecarbonMeter()])


def summary_rows(data: dict[str, Any]) -> list[list[str]]:
    def cell(results: dict[Any, Any]) -> str:
        return "; ".join(
            f"{k} round{'s' if int(k) > 1 else ''}: {r['cv_energy']:.1f} % "
            f"(CPU {r['cv_cpu']:.1f} %)" for k, r in results.items()
        )

    rows = []
    for busy, scenario in data["scenarios"].items():
        est, cc = scenario["estimate"], scenario.get("codecarbon")
        worst = max(r["added_pp"] for r in est.values())
        wall = max(r["cv_wall"] for r in est.values())
        rows.append([
            f"CV of 10 measurements of the same work, {busy} busy-loop process"
            f"{'es' if int(busy) > 1 else ''} on {data['cpus']} cores (wall CV up to "
            f"{wall:.0f} %); in brackets the CV of its CPU time",
            cell(est) + " (estimate)",
            cell(cc) if cc else "n/a",
            f"<= CPU-time CV + {GOAL_PP:g} pp",
            "yes" if worst <= GOAL_PP else "**no**",
        ])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less work, rounds 1 and 3 only")
    parser.add_argument("--ops", type=int, default=None, help="operations in the work")
    parser.add_argument("--count", type=int, default=10, help="measurements per series")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--no-codecarbon", action="store_true", help="skip codecarbon")
    parser.add_argument("--busy", type=int, default=None,
                        help="busy-loop processes (default: 1, then one per core)")
    args = parser.parse_args()
    started = time.perf_counter()
    n = args.ops or (2_000_000 if args.quick else 3_000_000)
    round_counts = (1, 3) if args.quick else (1, 3, 5)
    with_cc = have_codecarbon_meter() and not args.no_codecarbon
    print(f"# noise.py -- {machine_line()}")
    print(f"# work: spin({n:,}); {args.count} measurements per series; rounds {round_counts} "
          "interleaved; busy-loop processes alongside", flush=True)
    cpus = os.cpu_count() or 1
    busy_counts = [args.busy] if args.busy else ([1] if args.quick else [1, cpus])
    data: dict[str, Any] = {"ops": n, "count": args.count, "quick": args.quick, "cpus": cpus,
                            "scenarios": {}}
    for busy_count in dict.fromkeys(busy_counts):
        scenario: dict[str, Any] = {}
        busy = load_busy(busy_count)
        try:
            time.sleep(0.2)
            scenario["estimate"] = series(estimate_meters(), n, round_counts, args.count)
            if with_cc:
                meters = codecarbon_meters()
                try:
                    scenario["codecarbon"] = series(meters, n, round_counts, args.count)
                finally:
                    meters.close()
        finally:
            stop_busy(busy)
        data["scenarios"][busy_count] = scenario
        print(f"{busy_count} busy loop(s): done", flush=True)
    headers = ["busy loops", "meter", "rounds", "CV energy", "CV CPU time", "CV wall",
               "added (pp)", "median CPU s", "mean J", "<= +1 pp?"]
    rows = []
    for busy_count, scenario in data["scenarios"].items():
        for meter in ("estimate", "codecarbon"):
            for k, r in scenario.get(meter, {}).items():
                rows.append([busy_count, meter, k, f"{r['cv_energy']:.2f} %",
                             f"{r['cv_cpu']:.2f} %", f"{r['cv_wall']:.2f} %",
                             f"{r['added_pp']:+.2f}", f"{r['median_cpu_s']:.3f}",
                             f"{r['mean_joules']:.3g}",
                             "yes" if r["added_pp"] <= GOAL_PP else "**no**"])
    print()
    print(markdown_table(headers, rows))
    data["rows"] = summary_rows(data)
    data["headers"] = ["metric", "pytest-greenbudget", "codecarbon", "goal", "met?"]
    print()
    print(markdown_table(data["headers"], data["rows"]))
    data["seconds"] = time.perf_counter() - started
    print(f"\n(noise.py took {data['seconds']:.0f} s)")
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
