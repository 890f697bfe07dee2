"""Check the GPU meters (``nvml``, ``amdsmi``) on real GPUs (not a test: run it by hand).

For each meter whose GPU is visible (NVIDIA through NVML, AMD through amdsmi), on GPU 0
(torch's ``cuda:0``, which is the meter's ``gpu:0`` under ROCm builds too):

1. The meter's start-up check (SPEC 13): trusted, or why not.
2. ``--windows`` windows of at least 5 s of fp16 matrix multiplication: the meter's joules
   beside two independent references, the raw energy counter read directly
   (``nvmlDeviceGetTotalEnergyConsumption``; ``amdsmi_get_energy_count`` x resolution)
   and the reported power sampled every 20 ms and integrated (trapezoid). Ratios are
   medians over the windows, with their range.
3. Queues about 2 s of GPU work without synchronising and times ``meter.read()``: it
   must wait for the work (the meter synchronises torch).
4. The median cost of ``meter.read()`` over 200 readings.
5. ``pytest examples --greenbudget-meter=<meter>,estimate``: its exit status and tally.

Details go to stderr; stdout gets one short Markdown summary to paste into README.
Exit status: 0 when every meter found agrees with its raw counter within 5 % and waits
for queued work, 1 when one does not (or is not trusted), 2 when there is no torch with
a GPU or no GPU meter is available. ``--smoke`` (short windows, no examples run) is for
the test that runs this script against fake pynvml, amdsmi and torch modules.

    python benchmarks/gpu_check.py [--seconds 6] [--windows 3] > gpu_check.md
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import itertools
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_greenbudget.meters.base import MeterUnavailable  # noqa: E402

N = 8192  # matrix size of the load


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


@dataclass
class Backend:
    """One GPU meter and independent ways to read GPU 0's energy and power."""

    name: str
    meter: Any
    gpu: str
    check: str  # the start-up check's verdict, in words
    trusted: bool
    direct_j: Callable[[], float] | None  # the raw counter in joules; None without one
    power_w: Callable[[], float | None]
    release: Callable[[], None]

    def close(self) -> None:
        self.meter.close()
        self.release()


@dataclass
class Result:
    backend: str
    gpu: str = "-"
    check: str = "-"
    load: str = "-"
    meter_j: list[float] = field(default_factory=list)
    meter_w: list[float] = field(default_factory=list)
    vs_counter: list[float] = field(default_factory=list)
    vs_power: list[float] = field(default_factory=list)
    read_us: float | None = None
    sync: str = "-"
    examples: str = "-"
    problems: list[str] = field(default_factory=list)


def open_nvml() -> Backend:
    from pytest_greenbudget.meters.nvml import NvmlMeter

    meter = NvmlMeter()
    problem = meter.check()
    pynvml: Any = importlib.import_module("pynvml")
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByUUID(meter.gpu_info[0].uuid)

    def direct() -> float:
        return float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)) / 1000.0

    def power() -> float | None:
        return float(pynvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0

    checked = meter.details.partition("checked at start: ")[2].split("; ")[0]
    return Backend(
        "nvml", meter, meter.gpus[0],
        f"NOT TRUSTED: {problem}" if problem else f"trusted ({checked})", problem is None,
        direct if meter.methods[0] == "counter" else None, power, pynvml.nvmlShutdown,
    )  # fmt: skip


def open_amdsmi() -> Backend:
    from pytest_greenbudget.meters.amdsmi import AmdSmiMeter

    meter = AmdSmiMeter()  # raises CounterUntrusted when its check fails
    smi: Any = importlib.import_module("amdsmi")
    smi.amdsmi_init()
    handles = list(smi.amdsmi_get_processor_handles())
    uuids = [str(smi.amdsmi_get_gpu_device_uuid(h)) for h in handles]
    handle = handles[uuids.index(meter.uuids[0])]

    def direct() -> float:
        info = smi.amdsmi_get_energy_count(handle)
        raw = info["energy_accumulator"] if "energy_accumulator" in info else info["power"]
        return float(raw) * float(info["counter_resolution"]) / 1e6

    def power() -> float | None:
        info = smi.amdsmi_get_power_info(handle)
        for key in ("average_socket_power", "current_socket_power"):
            value = info.get(key)
            if isinstance(value, int | float) and value > 0:
                return float(value)
        return None

    return Backend(
        "amdsmi", meter, meter.gpus[0], "trusted (counter within 0.1-10x its power reading)",
        True, direct, power, smi.amdsmi_shut_down,
    )  # fmt: skip


class PowerSampler(threading.Thread):
    """The reported power every ``interval`` s, integrated by the trapezoid rule."""

    def __init__(self, power_w: Callable[[], float | None], interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.power_w, self.interval = power_w, interval
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()

    def sample(self) -> None:
        watts = self.power_w()
        if watts is not None:
            self.samples.append((time.perf_counter(), watts))

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def joules(self) -> float:
        pts = self.samples
        return sum((w0 + w1) / 2 * (t1 - t0) for (t0, w0), (t1, w1) in itertools.pairwise(pts))


def matmul_load(torch: Any, seconds: float) -> int:
    a = torch.randn(N, N, device="cuda:0", dtype=torch.float16)
    b = torch.randn(N, N, device="cuda:0", dtype=torch.float16)
    iterations = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            a @ b
        iterations += 20
        torch.cuda.synchronize(0)  # keep the CPU clock in step with the GPU
    return iterations


def measure_window(torch: Any, b: Backend, seconds: float, r: Result) -> None:
    sampler = PowerSampler(b.power_w)
    torch.cuda.synchronize(0)
    before = b.meter.read()["gpu:0"]
    counter0 = b.direct_j() if b.direct_j else None
    sampler.sample()
    sampler.start()
    t0 = time.perf_counter()
    iterations = matmul_load(torch, seconds)
    after = b.meter.read()["gpu:0"]
    counter1 = b.direct_j() if b.direct_j else None
    elapsed = time.perf_counter() - t0
    sampler.stop_event.set()
    sampler.join()
    sampler.sample()
    meter_j, power_j = after - before, sampler.joules()
    tflops = 2 * N**3 * iterations / elapsed / 1e12
    r.load = f"fp16 matmul {N}^2, {elapsed:.1f} s windows, {tflops:.0f} TFLOP/s"
    r.meter_j.append(meter_j)
    r.meter_w.append(meter_j / elapsed)
    line = f"  window: meter {meter_j:.1f} J ({meter_j / elapsed:.1f} W) in {elapsed:.2f} s"
    if counter0 is not None and counter1 is not None and counter1 > counter0:
        r.vs_counter.append(meter_j / (counter1 - counter0))
        line += f"; raw counter {counter1 - counter0:.1f} J"
    if power_j > 0:
        r.vs_power.append(meter_j / power_j)
        line += f"; power x time {power_j:.1f} J ({len(sampler.samples)} samples)"
    log(line)


def check_sync(torch: Any, b: Backend, target_s: float, r: Result) -> None:
    """Queue ``target_s`` of work unsynchronised; ``meter.read()`` must wait for it."""
    a = torch.randn(N, N, device="cuda:0", dtype=torch.float16)
    torch.cuda.synchronize(0)
    t = time.perf_counter()
    for _ in range(20):
        a @ a
    torch.cuda.synchronize(0)
    per_matmul = (time.perf_counter() - t) / 20
    queued = min(5000, max(1, int(target_s / max(per_matmul, 1e-6))))
    start = time.perf_counter()
    for _ in range(queued):
        a @ a
    enqueued = time.perf_counter() - start
    start = time.perf_counter()
    b.meter.read()
    waited = time.perf_counter() - start
    expected = max(queued * per_matmul - enqueued, 0.0)
    r.sync = f"read() waited {waited:.2f} s for ~{expected:.2f} s of queued work"
    log(f"  sync: queued {queued} matmuls in {enqueued:.3f} s; {r.sync}")
    if waited < 0.5 * expected:
        r.problems.append("read() did not wait for queued GPU work")


def run_examples(name: str, r: Result) -> None:
    if not (REPO / "examples").is_dir():
        r.examples = "no examples folder"
        return
    names = {ep.name for ep in importlib.metadata.entry_points(group="pytest11")}
    plugin = "greenbudget" if "greenbudget" in names else "pytest_greenbudget.plugin"
    command = [
        sys.executable, "-m", "pytest", "examples", "-p", plugin,
        f"--greenbudget-meter={name},estimate", "-q",
    ]  # fmt: skip
    log(f"  $ {' '.join(command[2:])}")
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    log(result.stdout + result.stderr)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    r.examples = f"exit {result.returncode}: {lines[-1].strip('= ') if lines else 'no output'}"
    if result.returncode not in (0, 1):  # 1: an example failed its budget on this GPU
        r.problems.append(f"examples run exited {result.returncode}")


def check_backend(torch: Any, b: Backend, args: argparse.Namespace, r: Result) -> None:
    log(f"\n{b.name}: {b.meter.details}\n  torch cuda:0 is {torch.cuda.get_device_name(0)}")
    r.gpu, r.check = b.gpu, b.check
    if not b.trusted:
        r.problems.append("start-up check failed")
    matmul_load(torch, min(1.0, args.seconds))  # warm clocks and kernels up
    for _ in range(args.windows):
        measure_window(torch, b, args.seconds, r)
    if b.direct_j is None:
        log("  (no energy counter: power-sampled, compared with power only)")
    elif not r.vs_counter or not all(0.95 <= x <= 1.05 for x in r.vs_counter):
        r.problems.append("meter and raw counter differ by more than 5 %")
    check_sync(torch, b, args.sync_seconds, r)
    costs = []
    for _ in range(200):
        start = time.perf_counter()
        b.meter.read()
        costs.append(time.perf_counter() - start)
    r.read_us = statistics.median(costs) * 1e6


def ratio(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def summary(results: list[Result], torch: Any, args: argparse.Namespace) -> str:
    version = importlib.metadata.version("pytest-greenbudget")
    head = (
        f"GPU check, pytest-greenbudget {version}, torch {torch.__version__}, "
        f"{platform.system()} {platform.machine()}, {time.strftime('%Y-%m-%d')}; "
        f"{args.windows} x {args.seconds:g} s windows; ratios: median (range)"
    )
    rows = [
        "| meter | GPU | start-up check | meter W | meter / raw counter | meter / power x time "
        "| read() | waits for queued work | examples |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        watts = f"{statistics.median(r.meter_w):.0f}" if r.meter_w else "-"
        read = f"{r.read_us:.0f} us" if r.read_us is not None else "-"
        rows.append(
            f"| {r.backend} | {r.gpu} | {r.check} | {watts} | {ratio(r.vs_counter)} "
            f"| {ratio(r.vs_power)} | {read} | {r.sync} | {r.examples} |"
        )
    load = next((r.load for r in results if r.load != "-"), "")
    verdicts = [f"{r.backend}: {'; '.join(r.problems)}" for r in results if r.problems]
    tail = "Problems: " + " / ".join(verdicts) if verdicts else "All checks passed."
    return "\n".join([head, "", *rows, "", f"Load: {load}. {tail}"])


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the GPU meters on real GPUs.")
    parser.add_argument("--seconds", type=float, default=6.0, help="window length (>= 5)")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="short windows, no examples run")
    args = parser.parse_args()
    args.seconds = min(args.seconds, 0.3) if args.smoke else max(args.seconds, 5.0)
    args.sync_seconds = 0.3 if args.smoke else 2.0
    args.windows = max(args.windows, 1)

    try:
        torch: Any = importlib.import_module("torch")
    except ImportError:
        print("gpu_check: torch is not installed; this check needs torch with a GPU.")
        return 2
    if not torch.cuda.is_available():
        print("gpu_check: torch sees no GPU (no CUDA or ROCm device); nothing to check.")
        return 2

    from pytest_greenbudget.meters.sanity import CounterUntrusted

    results: list[Result] = []
    unavailable: list[str] = []
    for name, opener in (("nvml", open_nvml), ("amdsmi", open_amdsmi)):
        try:
            backend = opener()
        except CounterUntrusted as exc:
            results.append(Result(name, check=f"NOT TRUSTED: {exc}", problems=["not trusted"]))
            continue
        except MeterUnavailable as exc:
            unavailable.append(f"{name}: {exc}")
            continue
        result = Result(name)
        try:
            check_backend(torch, backend, args, result)
        finally:
            backend.close()
        if not args.smoke:
            run_examples(name, result)
        results.append(result)
    for line in unavailable:
        log(f"not available: {line}")
    if not results:
        print("gpu_check: no GPU meter is available (" + "; ".join(unavailable) + ")")
        return 2
    print(summary(results, torch, args))
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
