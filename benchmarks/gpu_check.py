"""Check the ``nvml`` meter on a real NVIDIA GPU (not a test: run it by hand).

1. Runs a matrix-multiplication load with torch on ``cuda:0`` for about 6 s and prints
   the nvml meter's joules for ``gpu:0`` beside two independent references, with the
   ratios: the raw ``nvmlDeviceGetTotalEnergyConsumption`` counter read directly, and
   ``nvmlDeviceGetPowerUsage`` sampled every 20 ms and integrated (trapezoid).
2. Queues about 2 s of GPU work without synchronising and times ``meter.read()``: it
   must wait for the work (the meter calls ``torch.cuda.synchronize()``).
3. Times ``meter.read()``.
4. Runs ``python -m pytest examples -p greenbudget --greenbudget-meter=nvml,estimate``
   and prints its output.

Exit status: 0 when the meter agrees with the raw counter within 5 %, 1 when it does
not, 2 when there is no torch with CUDA, no NVIDIA driver, or no visible GPU.

    python benchmarks/gpu_check.py [--seconds 6]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import itertools
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_greenbudget.meters.base import MeterUnavailable  # noqa: E402


def unavailable(why: str) -> int:
    print(f"gpu_check: {why}; this check needs an NVIDIA GPU, its driver and torch with CUDA.")
    return 2


class PowerSampler(threading.Thread):
    """nvmlDeviceGetPowerUsage every ``interval`` s, integrated by the trapezoid rule."""

    def __init__(self, pynvml: Any, handle: Any, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pynvml, self.handle, self.interval = pynvml, handle, interval
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()

    def sample(self) -> None:
        watts = self.pynvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
        self.samples.append((time.perf_counter(), watts))

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def joules(self) -> float:
        pts = self.samples
        return sum((w0 + w1) / 2 * (t1 - t0) for (t0, w0), (t1, w1) in itertools.pairwise(pts))


def matmul_load(torch: Any, seconds: float) -> int:
    n = 8192
    a = torch.randn(n, n, device="cuda:0", dtype=torch.float16)
    b = torch.randn(n, n, device="cuda:0", dtype=torch.float16)
    iterations = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            a @ b
        iterations += 20
        torch.cuda.synchronize(0)  # keep the CPU clock in step with the GPU
    return iterations


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the nvml meter on a real GPU.")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    seconds = max(args.seconds, 5.0)

    try:
        torch: Any = importlib.import_module("torch")
    except ImportError:
        return unavailable("torch is not installed")
    if not torch.cuda.is_available():
        return unavailable("torch sees no CUDA device")

    from pytest_greenbudget.meters.nvml import NvmlMeter

    try:
        meter = NvmlMeter()
    except MeterUnavailable as exc:
        return unavailable(f"the nvml meter is not available: {exc}")
    print(meter.details)
    pynvml: Any = importlib.import_module("pynvml")
    pynvml.nvmlInit()
    gpu0 = meter.gpu_info[0]
    handle = pynvml.nvmlDeviceGetHandleByUUID(gpu0.uuid)
    print(f"torch cuda:0 is {torch.cuda.get_device_name(0)}; meter gpu:0 is {gpu0}")

    status = 0
    # Warm up clocks and cuBLAS so the window holds steady-state work.
    matmul_load(torch, 1.0)

    # 1. Energy of the load: meter vs raw counter vs integrated power.
    sampler = PowerSampler(pynvml, handle)
    torch.cuda.synchronize(0)
    before = meter.read()["gpu:0"]
    has_counter = meter.methods[0] == "counter"
    counter0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) if has_counter else None
    sampler.sample()
    sampler.start()
    t0 = time.perf_counter()
    iterations = matmul_load(torch, seconds)
    after = meter.read()["gpu:0"]
    counter1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) if has_counter else None
    elapsed = time.perf_counter() - t0
    sampler.stop_event.set()
    sampler.join()
    sampler.sample()
    meter_j = after - before
    power_j = sampler.joules()
    tflops = 2 * 8192**3 * iterations / elapsed / 1e12
    print(f"\nload: {iterations} fp16 matmuls 8192^2 in {elapsed:.2f} s ({tflops:.0f} TFLOP/s)")
    print(
        f"  nvml meter            {meter_j:10.1f} J   ({meter_j / elapsed:6.1f} W)   "
        f"method {meter.methods[0]}"
    )
    if counter0 is not None and counter1 is not None:
        direct_j = (counter1 - counter0) / 1000.0
        ratio = meter_j / direct_j if direct_j else float("nan")
        print(f"  raw energy counter    {direct_j:10.1f} J   meter/counter = {ratio:.4f}")
        if not 0.95 <= ratio <= 1.05:
            print("  MISMATCH: the meter and the raw counter differ by more than 5 %")
            status = 1
    ratio_p = meter_j / power_j if power_j else float("nan")
    mean_w = statistics.fmean(w for _, w in sampler.samples)
    print(
        f"  power x time (20 ms)  {power_j:10.1f} J   meter/power = {ratio_p:.4f}   "
        f"({len(sampler.samples)} samples, mean {mean_w:.1f} W)"
    )
    print(
        "  (power is a 1 s average on Ampere and newer and sampled ~25 % of the time on "
        "A100/H100: a few % off is expected)"
    )

    # 2. The meter waits for queued work.
    n = 8192
    a = torch.randn(n, n, device="cuda:0", dtype=torch.float16)
    torch.cuda.synchronize(0)
    t = time.perf_counter()
    for _ in range(20):
        a @ a
    torch.cuda.synchronize(0)
    per_matmul = (time.perf_counter() - t) / 20
    queued = min(5000, max(1, int(2.0 / max(per_matmul, 1e-6))))
    start = time.perf_counter()
    for _ in range(queued):
        a @ a
    enqueued = time.perf_counter() - start
    start = time.perf_counter()
    meter.read()
    waited = time.perf_counter() - start
    print(
        f"\nsync: queued {queued} matmuls in {enqueued:.3f} s; meter.read() then took "
        f"{waited:.3f} s (it must wait for them: expect about {2.0 - enqueued:.1f} s or more)"
    )
    if waited < 0.5 * (2.0 - enqueued):
        print("  SUSPICIOUS: read() did not wait for the queued GPU work")
        status = 1

    # 3. Cost of one reading.
    costs = []
    for _ in range(200):
        start = time.perf_counter()
        meter.read()
        costs.append(time.perf_counter() - start)
    mean_us, median_us = statistics.fmean(costs) * 1e6, statistics.median(costs) * 1e6
    print(f"\nread() cost: mean {mean_us:.0f} us, median {median_us:.0f} us")
    meter.close()
    pynvml.nvmlShutdown()

    # 4. The plugin end to end on the examples.
    names = {ep.name for ep in importlib.metadata.entry_points(group="pytest11")}
    plugin = "greenbudget" if "greenbudget" in names else "pytest_greenbudget.plugin"
    command = [
        sys.executable, "-m", "pytest", "examples", "-p", plugin,
        "--greenbudget-meter=nvml,estimate", "-q",
    ]  # fmt: skip
    print(f"\n$ {' '.join(command[2:])}")
    if not (REPO / "examples").is_dir():
        print("(no examples folder in this checkout)")
        return status
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    print(result.stdout + result.stderr)
    print(f"(exit status {result.returncode})")
    return status


if __name__ == "__main__":
    sys.exit(main())
