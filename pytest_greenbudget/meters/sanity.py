"""Is a hardware energy counter telling the truth? Cheap checks, as Zeus does for AMD GPUs.

A counter that does not move under load (a masked or emulated powercap file, a frozen
driver) or that implies a power no such device can draw (a wrong unit, ROCm/amdsmi#38's
15x under-reading) would give every test a confident, wrong number. Such a meter is not
trusted: ``auto`` leaves it out and says why, a named meter is a usage error that says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from pytest_greenbudget.meters.base import MeterUnavailable

#: Plausible power of one CPU package under a one-thread load, in watts.
PACKAGE_WATTS = (0.5, 1000.0)
#: Zeus's bound on measured / expected energy for a GPU counter (zeus/device/gpu/amd.py).
RATIO_BAND = (0.1, 10.0)


class CounterUntrusted(MeterUnavailable):
    """The counter exists and is readable, but its readings are implausible."""


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        for i in range(200):
            x += i * i


def probe_counter(
    read: Callable[[], Mapping[str, float]],
    domains: Sequence[str],
    *,
    band: tuple[float, float] = PACKAGE_WATTS,
    min_s: float = 0.005,
    max_s: float = 0.1,
    clock: Callable[[], float] = time.perf_counter,
) -> str | None:
    """Read, keep one CPU busy until every domain moved (at least ``min_s``, at most ``max_s``),
    read again; the problem in words, or None when every domain moved at a plausible power.

    RAPL updates about every millisecond, so a healthy counter costs about ``min_s``; only a
    counter that does not move pays the whole ``max_s``, which is long enough that a busy
    machine (a container's delayed updates, a starved fake) is not mistaken for a dead one.
    """
    start = clock()
    first = read()
    while True:
        _spin(0.0005)
        now = clock()
        last = read()
        moved = all(last.get(d, 0.0) > first.get(d, 0.0) for d in domains)
        if (moved and now - start >= min_s) or now - start >= max_s:
            break
    elapsed = max(now - start, 1e-9)
    low, high = band
    for domain in domains:
        joules = last.get(domain, 0.0) - first.get(domain, 0.0)
        if joules <= 0:
            return f"{domain} did not move during {elapsed * 1000:.0f} ms of CPU load"
        watts = joules / elapsed
        if not low <= watts <= high:
            return (
                f"{domain} implies {watts:.3g} W over {elapsed * 1000:.0f} ms of load, "
                f"outside the plausible {low:g} to {high:g} W"
            )
    return None


def compare_with_power(
    counter_joules: float, power_watts: float, seconds: float, *, what: str
) -> str | None:
    """The problem when the counter's energy is not within RATIO_BAND of power x time."""
    expected = power_watts * seconds
    if expected <= 0:
        return None  # no power to compare with: nothing to say
    ratio = counter_joules / expected
    low, high = RATIO_BAND
    if low < ratio < high:
        return None
    return (
        f"{what}: its energy counter read {counter_joules:.3g} J over {seconds:.2g} s where "
        f"the reported power ({power_watts:.3g} W) gives {expected:.3g} J "
        f"(ratio {ratio:.3g}, trusted only within {low:g} to {high:g})"
    )
