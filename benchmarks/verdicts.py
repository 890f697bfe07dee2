"""Do regression verdicts flap on unchanged code, and do they see real regressions?

Run: ``.venv/bin/python benchmarks/verdicts.py [--quick] [--json out.json]``
(``--from-json data.json`` re-judges recorded measurements without running anything).

A generated suite of ML-style tests (numpy and scikit-learn work on the bundled digits
data, one BLAS thread) runs from 10 ms to 1 s each. Its work is a fixed count of kernel
calls; ``GB_SCALE`` multiplies the count of every odd-numbered test (1.1, 1.3, 2, 5), the
even ones stay unchanged. Each pytest run measures every test for ``--rounds`` call
rounds with the plugin's ``estimate`` meter; a ``conftest.py`` records the joules of each
round (the plugin's own readings). Runs alternate between quiet and loaded (another
process busy-looping on one core), unchanged and scaled, in rotated order.

The verdicts are then applied offline, with the same recordings for every rule:

* ``fixed``: today's rule, median > baseline x (1 + 10 %) and the change > ``min_delta``
  (0.5 J, the old default);
* ``pytest-benchmark``: ``--benchmark-compare-fail=mean:10%``, mean > baseline mean x 1.1;
* ``asv``: ratio > 1.1 AND (Mann-Whitney U p < 0.002 when the sample sizes allow it, else
  non-overlapping 99 % confidence intervals of the medians, else the ratio alone);
* ``greenbudget``: ``pytest_greenbudget.stats.compare`` with the meter's noise prior and the
  plugin's defaults; ``inconclusive`` never fails.

False failures: the first unchanged run is the saved baseline, every other unchanged run
is a rerun (each test of each rerun is one verdict). Detection: every scaled test of
every scaled run against every unchanged run as baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    clean_env,
    load_busy,
    machine_line,
    markdown_table,
    stop_busy,
    write_json,
)

SCALES = (1.1, 1.3, 2.0, 5.0)

KERNELS = '''
"""Kernels of ML-style work; data is built at import (collection), not in the tests."""
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

# One BLAS/OpenMP thread, as examples/ does; after the imports, or it limits nothing.
# (Without it, idle OpenMP threads spinning made one PCA test move 2.4x between runs.)
threadpool_limits(limits=1)

X, y = load_digits(return_X_y=True)
XS = StandardScaler().fit_transform(X)
RNG = np.random.default_rng(0)
A = RNG.random((128, 128))
SIG = RNG.random(1 << 15)
MODEL = LogisticRegression(max_iter=500).fit(XS[:1000], y[:1000])
ROWS = [list(r) for r in X[:300]]


def matmul():
    return float((A @ A).sum())


def fft():
    return float(np.abs(np.fft.rfft(SIG)).sum())


def pyloop():
    total = 0.0
    for row in ROWS:
        m = sum(row) / len(row)
        total += sum((v - m) * (v - m) for v in row)
    return total


def predict():
    return MODEL.predict_proba(XS[:400]).sum()


def pca():
    return PCA(n_components=10, random_state=0).fit(X[:600]).explained_variance_.sum()


def tree():
    return DecisionTreeClassifier(max_depth=8, random_state=0).fit(X[:800], y[:800]).score(X, y)


def kmeans():
    return KMeans(n_clusters=8, n_init=1, max_iter=30, random_state=0).fit(X[:600]).inertia_


def logreg():
    return LogisticRegression(max_iter=200).fit(XS[:800], y[:800]).score(XS, y)


ALL = [matmul, fft, pyloop, predict, pca, tree, kmeans, logreg]
'''

CALIBRATE = '''
import json, sys, time
import gbkernels
out = {}
for k in gbkernels.ALL:
    k()
    times = []
    for _ in range(3):
        t0 = time.process_time(); k(); times.append(time.process_time() - t0)
    times.sort()
    out[k.__name__] = times[1]
print(json.dumps(out))
'''

CONFTEST = '''
import json, os, time
import pytest

OUT = os.environ.get("GB_SAMPLES_OUT")
ROWS = {}
PROBE = []


def _spin(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


def pytest_sessionstart(session):
    for _ in range(5):
        t0 = time.process_time(); _spin(20000); PROBE.append(time.process_time() - t0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield
    from pytest_greenbudget.session import ITEM_STATE
    state = item.stash.get(ITEM_STATE, None)
    if state is not None and state.rounds:
        ROWS[item.name] = [m.joules for m in state.rounds]


def pytest_sessionfinish(session):
    if OUT:
        with open(OUT, "w") as f:
            json.dump({"probe": PROBE, "tests": ROWS}, f)
'''


def targets(count: int) -> list[float]:
    """Test durations from 10 ms to 1 s, log-spaced, most of them short (as in real suites)."""
    return [0.01 * 100 ** ((i / (count - 1)) ** 3) for i in range(count)]


def make_suite(folder: Path, count: int, rounds: int) -> dict[str, Any]:
    (folder / "gbkernels.py").write_text(KERNELS)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n\n"
        f"[tool.greenbudget]\nmeter = \"estimate\"\nmeasure_all = true\nrounds = {rounds}\n"
    )
    proc = subprocess.run(
        [PYTHON, "-c", CALIBRATE], cwd=folder, env=clean_env(), capture_output=True, text=True,
        check=True,
    )
    costs: dict[str, float] = json.loads(proc.stdout)
    lines = [
        "import os", "import gbkernels as k", "",
        "SCALE = float(os.environ.get('GB_SCALE', '1'))", "",
    ]
    plan = {}
    for i, target in enumerate(targets(count)):
        fitting = [name for name, cost in costs.items() if cost * 10 <= target] or ["matmul"]
        kernel = fitting[i % len(fitting)]
        reps = max(10, round(target / max(costs[kernel], 1e-6)))
        plan[f"test_{i:02d}_{kernel}"] = {"kernel": kernel, "reps": reps, "target": target,
                                          "scaled": i % 2 == 1}
        scale = "SCALE" if i % 2 == 1 else "1"
        lines += [
            f"def test_{i:02d}_{kernel}():",
            f"    for _ in range(round({reps} * {scale})):",
            f"        k.{kernel}()",
            "",
        ]
    (folder / "test_suite.py").write_text("\n".join(lines))
    return {"costs": costs, "plan": plan}


def run_once(folder: Path, scale: float, busy: bool) -> dict[str, Any]:
    out = folder / "samples.json"
    out.unlink(missing_ok=True)
    env = clean_env(folder / "pycache")
    env["GB_SCALE"] = str(scale)
    env["GB_SAMPLES_OUT"] = str(out)
    procs = load_busy(1) if busy else []
    try:
        time.sleep(0.2 if busy else 0)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [PYTHON, "-m", "pytest", "-q"], cwd=folder, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        wall = time.perf_counter() - t0
    finally:
        stop_busy(procs)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-3000:])
    data: dict[str, Any] = json.loads(out.read_text())
    data.update(scale=scale, busy=busy, wall=wall)
    return data


def collect(args: argparse.Namespace) -> dict[str, Any]:
    """Record every run; with ``--json`` the file is rewritten after each run (partial data)."""
    folder = Path(tempfile.mkdtemp(prefix="gb-verdicts-"))
    suite = make_suite(folder, args.tests, args.rounds)
    schedule: list[tuple[bool, float]] = []
    for busy in (False, True):
        schedule += [(busy, 1.0)] * ((args.loaded_reruns if busy else args.reruns) + 1)
        schedule += [(busy, s) for s in SCALES for _ in range(args.scaled_runs)]
    # Interleave: quiet/loaded alternate, and the scaled runs are spread among the others.
    quiet = [s for s in schedule if not s[0]]
    loaded = [s for s in schedule if s[0]]
    quiet = _spread(quiet)
    loaded = _spread(loaded)
    order = [x for pair in zip(quiet, loaded, strict=False) for x in pair]
    order += quiet[len(loaded):] + loaded[len(quiet):]
    runs = []
    t0 = time.perf_counter()
    for n, (busy, scale) in enumerate(order):
        runs.append(run_once(folder, scale, busy))
        partial = {"suite": suite, "runs": runs, "rounds": args.rounds, "machine": machine_line()}
        write_json(args.json, partial)
        print(f"  run {n + 1}/{len(order)} busy={busy} scale={scale} "
              f"{runs[-1]['wall']:.1f} s ({time.perf_counter() - t0:.0f} s so far)", flush=True)
    return {"suite": suite, "runs": runs, "rounds": args.rounds, "machine": machine_line()}


def _spread(items: list[tuple[bool, float]]) -> list[tuple[bool, float]]:
    """Unchanged runs first one (the baseline), the scaled ones spread evenly among the rest."""
    unchanged = [x for x in items if x[1] == 1.0]
    scaled = [x for x in items if x[1] != 1.0]
    out = [unchanged.pop(0)]
    step = max(1, len(unchanged) // max(1, len(scaled)))
    while unchanged or scaled:
        out += unchanged[:step]
        del unchanged[:step]
        if scaled:
            out.append(scaled.pop(0))
    return out


# -- the rules, offline ------------------------------------------------------------------

Rule = Callable[[Sequence[float], Sequence[float]], str]
TOL = 0.10


def rule_fixed(cur: Sequence[float], base: Sequence[float]) -> str:
    c, b = statistics.median(cur), statistics.median(base)
    if c > b * (1 + TOL) and c - b > 0.5:
        return "regressed"
    if c < b * (1 - TOL) and b - c > 0.5:
        return "improved"
    return "same"


def rule_pytest_benchmark(cur: Sequence[float], base: Sequence[float]) -> str:
    c, b = statistics.fmean(cur), statistics.fmean(base)
    return "regressed" if c > b * 1.1 else ("improved" if c < b / 1.1 else "same")


def _quantile_ci(x: Sequence[float], alpha: float = 0.01) -> tuple[float, float] | None:
    """asv's distribution-free CI of the median from order statistics; None when n is too small."""
    xs = sorted(x)
    n = len(xs)
    if n < 2:
        return None
    # the widest interval is (min, max), of coverage 1 - 2 * 0.5**n
    best = None
    for lo in range(n // 2 + 1):
        hi = n - 1 - lo
        coverage = sum(math.comb(n, k) for k in range(lo + 1, hi + 1)) / 2**n
        if coverage >= 1 - alpha:
            best = (xs[lo], xs[hi])
    return best if best is not None else (xs[0], xs[-1])


def _mwu_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value, normal approximation (asv: exact for small n)."""
    n, m = len(a), len(b)
    u = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    mu, sd = n * m / 2, math.sqrt(n * m * (n + m + 1) / 12)
    z = (abs(u - mu) - 0.5) / sd if sd else 0.0
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def rule_asv(cur: Sequence[float], base: Sequence[float]) -> str:
    c, b = statistics.median(cur), statistics.median(base)
    ratio = c / b if b > 0 else math.inf
    if 1 / 1.1 <= ratio <= 1.1:
        return "same"
    p_min = 1 / math.comb(len(cur) + len(base), min(len(cur), len(base)))
    if p_min < 0.002:
        different = _mwu_p(cur, base) < 0.002
    else:
        ca, cb = _quantile_ci(cur), _quantile_ci(base)
        different = ca is None or cb is None or ca[1] < cb[0] or cb[1] < ca[0]
    if not different:
        return "same"
    return "regressed" if ratio > 1 else "improved"


def rule_ours_factory() -> Rule:
    from pytest_greenbudget.meters.estimate import EstimateMeter
    from pytest_greenbudget.settings import Settings
    from pytest_greenbudget.stats import compare, prior_for

    prior = prior_for(EstimateMeter())
    min_delta = Settings(rootdir=Path(".")).min_delta

    def rule(cur: Sequence[float], base: Sequence[float]) -> str:
        return compare(cur, base, tolerance=TOL, min_delta=min_delta, prior=prior).status

    return rule


def adaptive(
    rule: Rule, cur: Sequence[float], base: Sequence[float], max_rounds: int
) -> tuple[str, int]:
    """The plugin's max_rounds loop: one more round while undecided, up to max_rounds."""
    k = 1
    while True:
        status = rule(cur[:k], base)
        if status != "inconclusive" or k >= min(max_rounds, len(cur)):
            return status, k
        k += 1


def judge(data: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Rule] = {
        "fixed 10 %, 0.5 J": rule_fixed,
        "pytest-benchmark mean:10%": rule_pytest_benchmark,
        "asv (1.1 + MWU/CI)": rule_asv,
    }
    try:
        rules["greenbudget"] = rule_ours_factory()
    except ImportError:
        pass
    plan = data["suite"]["plan"]
    rounds = data["rounds"]
    results: dict[str, Any] = {}
    for busy in (False, True):
        runs = [r for r in data["runs"] if r["busy"] == busy]
        unchanged = [r for r in runs if r["scale"] == 1.0]
        base, reruns = unchanged[0], unchanged[1:]
        cond: dict[str, Any] = {}
        for name, rule in rules.items():
            row: dict[str, Any] = {}
            for k in sorted({1, rounds}):
                ff = n = inc = 0
                for run in reruns:
                    for test, samples in run["tests"].items():
                        s = rule(samples[:k], base["tests"][test][:k])
                        n += 1
                        ff += s == "regressed"
                        inc += s == "inconclusive"
                row[f"ff@{k}"] = (ff, n, inc)
                for scale in SCALES:
                    hit = n = 0
                    for run in (r for r in runs if r["scale"] == scale):
                        for test, samples in run["tests"].items():
                            if not plan[test]["scaled"]:
                                continue
                            for b in unchanged:
                                n += 1
                                hit += rule(samples[:k], b["tests"][test][:k]) == "regressed"
                    row[f"det{scale}@{k}"] = (hit, n)
            if name == "greenbudget" and rounds > 1:
                ff = n = used = 0
                for run in reruns:
                    for test, samples in run["tests"].items():
                        s, k = adaptive(rule, samples, base["tests"][test][:1], rounds)
                        n += 1
                        used += k
                        ff += s == "regressed"
                row["ff@adaptive"] = (ff, n, used / max(n, 1))
                for scale in SCALES:
                    hit = n = used = 0
                    for run in (r for r in runs if r["scale"] == scale):
                        for test, samples in run["tests"].items():
                            if plan[test]["scaled"]:
                                for b in unchanged:
                                    s, k = adaptive(rule, samples, b["tests"][test][:1], rounds)
                                    n += 1
                                    hit += s == "regressed"
                                    used += k
                    row[f"det{scale}@adaptive"] = (hit, n, used / max(n, 1))
            cond[name] = row
        results["loaded" if busy else "quiet"] = cond
        walls = [r["wall"] for r in unchanged]
        results[("loaded" if busy else "quiet") + "_wall"] = statistics.median(walls)
        # between-run spread of log ratios against the baseline (first round), for the notes
        logs = [
            math.log(r["tests"][t][0] / base["tests"][t][0]) for r in reruns for t in r["tests"]
        ]
        results[("loaded" if busy else "quiet") + "_logsd"] = statistics.pstdev(logs)
    return results


def print_tables(data: dict[str, Any], res: dict[str, Any]) -> None:
    rounds = data["rounds"]
    count = len(data["suite"]["plan"])
    print(f"\nMachine: {data['machine']}; {count} tests, {rounds} rounds recorded")
    for cond in ("quiet", "loaded"):
        print(f"\n### {cond} (sd of log ratio, 1 round: {res[cond + '_logsd']:.3f}; "
              f"median run {res[cond + '_wall']:.1f} s)\n")
        headers = ["rule", "rounds", "false failures", "inconclusive"]
        headers += [f"{s:g}x regressed" for s in SCALES]
        rows = []
        for name, row in res[cond].items():
            kinds = [str(x) for x in sorted({1, rounds})]
            for k in kinds + (["adaptive"] if "ff@adaptive" in row else []):
                ff = row[f"ff@{k}"]
                inc = f"{ff[2]}" if k != "adaptive" else f"mean rounds {ff[2]:.2f}"
                cells = [name, k if k != "adaptive" else f"1..{rounds}", f"{ff[0]}/{ff[1]}", inc]
                for s in SCALES:
                    d = row[f"det{s}@{k}"]
                    cells.append(f"{100 * d[0] / max(d[1], 1):.0f} % of {d[1]}")
                rows.append(cells)
        print(markdown_table(headers, rows))


def examples_reruns(count: int) -> dict[str, Any]:
    """The examples' own suite, end to end with the real plugin: save once, rerun unchanged."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="gb-examples-")) / "examples"
    shutil.copytree(REPO / "examples", folder, ignore=shutil.ignore_patterns(".greenbudget"))
    env = clean_env(folder.parent / "pycache")
    base = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    subprocess.run([*base, "--greenbudget-save"], cwd=folder, env=env, capture_output=True)
    codes, statuses, rounds = [], [], []
    for i in range(count):
        report = folder / "energy.json"
        proc = subprocess.run(
            [*base, f"--greenbudget-json={report}"], cwd=folder, env=env, capture_output=True,
            text=True,
        )
        codes.append(proc.returncode)
        entries = json.loads(report.read_text())["entries"] if report.exists() else []
        statuses += [e["status"] for e in entries]
        rounds += [e["rounds"] for e in entries if e["kind"] == "test"]
        print(f"  examples rerun {i + 1}/{count}: exit {proc.returncode}", flush=True)
        for e in entries:
            if e["status"] == "regressed":
                print(f"    {e['id']} ({e['rounds']} rounds): {e['message']}", flush=True)
    return {"codes": codes, "statuses": statuses, "rounds": rounds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--loaded-reruns", type=int, default=6)
    parser.add_argument("--scaled-runs", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--from-json")
    parser.add_argument("--examples", type=int, default=0, metavar="N",
                        help="only: the examples' suite, saved once and rerun N times")
    args = parser.parse_args()
    if args.examples:
        found = examples_reruns(args.examples)
        failing = sum(code != 0 for code in found["codes"])
        from collections import Counter

        print(f"examples: {failing} of {len(found['codes'])} unchanged reruns exited non-zero; "
              f"statuses {dict(Counter(found['statuses']))}; "
              f"mean rounds per test {statistics.fmean(found['rounds']):.2f}")
        write_json(args.json, found)
        return
    if args.quick:
        args.tests, args.reruns, args.loaded_reruns, args.rounds = 16, 4, 2, 3
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
    else:
        data = collect(args)
        if args.json:
            write_json(args.json, data)
    res = judge(data)
    print_tables(data, res)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
