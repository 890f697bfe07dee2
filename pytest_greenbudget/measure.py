"""Turn meter readings into measurements: deltas per domain, seconds, median of rounds."""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pytest_greenbudget.meters.base import Meter, MeterError


class Reading(NamedTuple):
    """One combined reading of every meter, with the wall clock."""

    joules: Mapping[str, float]
    at: float


@dataclass(frozen=True)
class Measurement:
    """Energy of one window (or the median of several rounds) by domain."""

    domains: Mapping[str, float]
    seconds: float
    rounds: int = 1
    #: The median of the rounds' totals, which need not equal the sum of domain medians.
    total: float | None = None

    @property
    def joules(self) -> float:
        return math.fsum(self.domains.values()) if self.total is None else self.total

    def __add__(self, other: Measurement) -> Measurement:
        names = list(dict.fromkeys([*self.domains, *other.domains]))
        domains = {n: self.domains.get(n, 0.0) + other.domains.get(n, 0.0) for n in names}
        return Measurement(
            domains, self.seconds + other.seconds, self.rounds, self.joules + other.joules
        )


#: Meters whose reads are a few syscalls and cannot hang: read directly, at no extra cost.
_DIRECT = ("pytest_greenbudget.meters.estimate", "pytest_greenbudget.meters.rapl")
READ_TIMEOUT_ENV = "GREENBUDGET_READ_TIMEOUT_S"
DEFAULT_READ_TIMEOUT_S = 30.0


class _Job:
    def __init__(self, function: Callable[[], Mapping[str, float]]) -> None:
        self.function = function
        self.done = threading.Event()
        self.value: Mapping[str, float] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.function()
        except BaseException as exc:  # handed to the waiting thread
            self.error = exc
        finally:
            self.done.set()


class BoundedRead:
    """Reads a meter in a daemon thread, so a hung meter costs one bounded wait, not the run.

    After a time-out the meter is considered hung for the rest of the session: its thread
    may never come back, and waiting again for every test would stall the suite.
    """

    def __init__(self, meter: Meter, timeout_s: float) -> None:
        self.meter = meter
        self.timeout_s = timeout_s
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._hung = False

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run()

    def __call__(self) -> Mapping[str, float]:
        if self._hung:
            raise MeterError(f"meter {self.meter.name!r} is hung (no answer since an earlier read)")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"greenbudget-{self.meter.name}", daemon=True
            )
            self._thread.start()
        job = _Job(self.meter.read)
        self._jobs.put(job)
        if not job.done.wait(self.timeout_s):
            self._hung = True
            raise MeterError(
                f"meter {self.meter.name!r} did not answer within {self.timeout_s:g} s "
                f"(the bound is set by {READ_TIMEOUT_ENV})"
            )
        if job.error is not None:
            raise job.error
        assert job.value is not None
        return job.value

    def close(self) -> None:
        if self._thread is not None and not self._hung:
            self._jobs.put(None)


def _read_timeout() -> float:
    try:
        value = float(os.environ.get(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT_S))
    except ValueError:
        return DEFAULT_READ_TIMEOUT_S
    return value if value > 0 else DEFAULT_READ_TIMEOUT_S


@dataclass
class MeterSet:
    """The session's meters read as one; same-named domains get ``<meter>:`` prefixes."""

    meters: Sequence[Meter]
    _clashes: set[str] | None = field(default=None, init=False)
    #: Domain names each meter returned at its first reading, for the reports.
    domains_by_meter: dict[str, list[str]] = field(default_factory=dict, init=False)
    _readers: list[Callable[[], Mapping[str, float]]] = field(default_factory=list, init=False)
    _trusted: Callable[[], Mapping[str, float]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        timeout = _read_timeout()
        self._readers = [
            meter.read if type(meter).__module__ in _DIRECT else BoundedRead(meter, timeout)
            for meter in self.meters
        ]
        only = self._readers[0] if len(self._readers) == 1 else None
        self._trusted = None if only is None or isinstance(only, BoundedRead) else only

    @property
    def names(self) -> list[str]:
        return [meter.name for meter in self.meters]

    @property
    def estimated(self) -> bool:
        return any(meter.estimated for meter in self.meters)

    @property
    def per_process(self) -> bool:
        """True only when every meter counts this process alone (no exclusive lock needed)."""
        return all(getattr(meter, "per_process", False) is True for meter in self.meters)

    @property
    def resolution_s(self) -> float:
        return max(
            (float(getattr(m, "resolution_s", 0.0) or 0.0) for m in self.meters), default=0.0
        )

    def read(self) -> Reading:
        """Read every meter; any failure becomes a MeterError naming the meter."""
        if self._trusted is not None and self.domains_by_meter:
            # One built-in meter (estimate, rapl): its dict of floats needs no checking, and
            # this path is most of the plugin's cost per measured test.
            try:
                return Reading(self._trusted(), time.perf_counter())
            except Exception as exc:
                raise MeterError(
                    f"meter {self.meters[0].name!r} failed to read: {_describe(exc)}"
                ) from exc
        per_meter: list[tuple[str, Mapping[str, float]]] = []
        for meter, read in zip(self.meters, self._readers, strict=True):
            try:
                values = read()
                checked = {str(k): float(v) for k, v in values.items()}
            except Exception as exc:
                raise MeterError(f"meter {meter.name!r} failed to read: {_describe(exc)}") from exc
            bad = [k for k, v in checked.items() if math.isnan(v) or math.isinf(v)]
            if bad:
                raise MeterError(f"meter {meter.name!r} returned a non-finite value for {bad[0]!r}")
            per_meter.append((meter.name, checked))
            if meter.name not in self.domains_by_meter:
                self.domains_by_meter[meter.name] = list(checked)
        at = time.perf_counter()
        if len(per_meter) == 1:
            return Reading(per_meter[0][1], at)
        if self._clashes is None:
            seen: dict[str, int] = {}
            for _, values in per_meter:
                for key in values:
                    seen[key] = seen.get(key, 0) + 1
            self._clashes = {key for key, count in seen.items() if count > 1}
        combined: dict[str, float] = {}
        for name, values in per_meter:
            for key, value in values.items():
                shown = f"{name}:{key}" if key in self._clashes else key
                combined[shown] = combined.get(shown, 0.0) + value
        return Reading(combined, at)

    def owner(self, domain: str) -> str:
        """The name of the meter a (possibly prefixed) domain came from."""
        if len(self.meters) == 1:
            return self.meters[0].name
        for name, domains in self.domains_by_meter.items():
            if domain in domains or domain.startswith(f"{name}:"):
                return name
        return "?"

    def close(self) -> None:
        for reader in self._readers:
            if isinstance(reader, BoundedRead):
                reader.close()
        for meter in self.meters:
            close = getattr(meter, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    pass


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def delta(
    before: Reading, after: Reading, owner: Callable[[str], str] = lambda domain: "?"
) -> Measurement:
    """The energy between two readings; a counter that went backwards is a meter error."""
    domains: dict[str, float] = {}
    for key, end in after.joules.items():
        start = before.joules.get(key)
        if start is None:
            raise MeterError(f"meter {owner(key)!r}: domain {key!r} appeared between two readings")
        if end < start:
            raise MeterError(
                f"meter {owner(key)!r}: domain {key!r} went backwards ({start:g} J then "
                f"{end:g} J); a meter must return cumulative joules"
            )
        domains[key] = end - start
    vanished = [key for key in before.joules if key not in after.joules]
    if vanished:
        raise MeterError(
            f"meter {owner(vanished[0])!r}: domain {vanished[0]!r} vanished between two readings"
        )
    return Measurement(domains, max(0.0, after.at - before.at))


def median(rounds: Sequence[Measurement]) -> Measurement:
    """The median round, domain by domain; seconds likewise."""
    if len(rounds) == 1:
        return rounds[0]
    names = list(dict.fromkeys(name for m in rounds for name in m.domains))
    domains = {n: _median([m.domains.get(n, 0.0) for m in rounds]) for n in names}
    return Measurement(
        domains,
        _median([m.seconds for m in rounds]),
        len(rounds),
        _median([m.joules for m in rounds]),
    )


def _median(values: list[float]) -> float:
    """The median; ``statistics`` would cost 2 ms of import for these three lines."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
