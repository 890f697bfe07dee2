"""Mean cost of one ``read()`` for each meter that works here.

The plugin reads its meters twice per measured phase, so this is the per-test floor of
its overhead. RAPL is also measured on a generated powercap tree (two packages, each
with core, uncore and dram zones) so the figure exists on machines without RAPL; its
real counters cost a little more (the kernel reads an MSR).

    python benchmarks/meter_read_cost.py [--reads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_greenbudget.meters.base import Meter, MeterUnavailable


def fake_powercap(base: Path) -> Path:
    root = base / "powercap"
    for pkg in (0, 1):
        package = root / "intel-rapl" / f"intel-rapl:{pkg}"
        zones = {package: f"package-{pkg}"}
        for child, name in enumerate(("core", "dram", "uncore")):
            zones[package / f"intel-rapl:{pkg}:{child}"] = name
        for path, name in zones.items():
            path.mkdir(parents=True)
            (path / "name").write_text(name + "\n")
            (path / "energy_uj").write_text("123456789\n")
            (path / "max_energy_range_uj").write_text("262143328850\n")
    return root


def bench(label: str, make: Callable[[], Meter], reads: int) -> None:
    t0 = time.perf_counter()
    try:
        meter = make()
    except MeterUnavailable as exc:
        print(f"{label:<28} not available: {exc}")
        return
    built = time.perf_counter() - t0
    try:
        meter.read()  # warm-up (codecarbon starts its first task here)
        samples = []
        for _ in range(reads):
            start = time.perf_counter()
            meter.read()
            samples.append(time.perf_counter() - start)
    finally:
        close = getattr(meter, "close", None)
        if close is not None:
            close()
    mean_us = statistics.fmean(samples) * 1e6
    median_us = statistics.median(samples) * 1e6
    print(
        f"{label:<28} mean {mean_us:9.1f} us  median {median_us:9.1f} us  "
        f"({reads} reads; constructor {built * 1e3:.1f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()

    from pytest_greenbudget.meters.codecarbon_meter import CodecarbonMeter
    from pytest_greenbudget.meters.nvml import NvmlMeter
    from pytest_greenbudget.meters.rapl import RaplMeter

    try:
        from pytest_greenbudget.meters.estimate import EstimateMeter

        bench("estimate", EstimateMeter, args.reads)
    except ImportError as exc:
        print(f"{'estimate':<28} not importable: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        tree = fake_powercap(Path(tmp))
        bench("rapl (fake tree, 4 zones)", lambda: RaplMeter(tree), args.reads)
    bench("rapl (this machine)", RaplMeter, args.reads)
    bench("nvml (this machine)", NvmlMeter, args.reads)
    bench("codecarbon", CodecarbonMeter, max(50, args.reads // 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
