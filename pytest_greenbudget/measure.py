"""Turn meter readings into measurements: deltas per domain, seconds, median of rounds."""

from __future__ import annotations

import functools
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from pytest_greenbudget.meters.base import Meter, MeterError
from pytest_greenbudget.stats import median as median_of

#: The real clock, bound at import, before any test can patch ``time.perf_counter``
#: (monkeypatch, freezegun). A partial, not the function itself: freezegun replaces every
#: module attribute that *is* a real time function, in every loaded module.
_perf_counter = functools.partial(time.perf_counter)

#: Not a meter fault but the user stopping the run (or a generator being closed).
_NOT_METER_FAULTS = (KeyboardInterrupt, GeneratorExit)

#: No test window uses more than this; a larger delta is a broken meter, and the bound
#: keeps every sum of entries (phases, rounds, totals) far from float overflow.
MAX_JOULES = 1e20  # about a year of the world's energy use


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
        """Two windows as one; a sum that is not finite is a MeterError."""
        names = list(dict.fromkeys([*self.domains, *other.domains]))
        domains = {n: self.domains.get(n, 0.0) + other.domains.get(n, 0.0) for n in names}
        total = self.joules + other.joules
        seconds = self.seconds + other.seconds
        if not all(math.isfinite(v) for v in (total, seconds, *domains.values())):
            raise MeterError("the sum of two measured windows is not a finite number")
        return Measurement(domains, seconds, self.rounds, total)


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

    def _run(self, function: Callable[[], Mapping[str, float]]) -> _Job | None:
        """Run ``function`` in the meter's thread; None when it did not finish in time."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"greenbudget-{self.meter.name}", daemon=True
            )
            self._thread.start()
        job = _Job(function)
        self._jobs.put(job)
        if not job.done.wait(self.timeout_s):
            self._hung = True
            return None
        return job

    def __call__(self) -> Mapping[str, float]:
        if self._hung:
            raise MeterError(f"meter {self.meter.name!r} is hung (no answer since an earlier read)")
        job = self._run(self.meter.read)
        if job is None:
            raise MeterError(
                f"meter {self.meter.name!r} did not answer within {self.timeout_s:g} s "
                f"(the bound is set by {READ_TIMEOUT_ENV})"
            )
        if job.error is not None:
            raise job.error
        assert job.value is not None
        return job.value

    def close(self, close: Callable[[], object] | None = None) -> str | None:
        """Call the meter's ``close`` in its thread, bounded as a read; say what went wrong.

        A meter already hung is not closed: its close would wait on the same stuck device
        (often the same lock) and keep the process from exiting.
        """
        if self._hung:
            return (
                f"meter {self.meter.name!r} was hung, so its close() was not called"
                if close is not None
                else None
            )
        problem = None
        if close is not None:

            def call() -> Mapping[str, float]:
                close()
                return {}

            job = self._run(call)
            if job is None:
                problem = (
                    f"meter {self.meter.name!r}: close() did not return within "
                    f"{self.timeout_s:g} s and was left behind (the bound is set by "
                    f"{READ_TIMEOUT_ENV})"
                )
            elif job.error is not None and isinstance(job.error, _NOT_METER_FAULTS):
                raise job.error
        if self._thread is not None and not self._hung:
            self._jobs.put(None)
        return problem


#: The longest bound accepted: a day. Longer (or infinite) would overflow a thread wait.
MAX_READ_TIMEOUT_S = min(86400.0, threading.TIMEOUT_MAX)


def read_timeout() -> tuple[float, str | None]:
    """The read bound from the environment, and a warning when its value was not usable."""
    raw = os.environ.get(READ_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_READ_TIMEOUT_S, None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if value > MAX_READ_TIMEOUT_S:  # inf too
        return MAX_READ_TIMEOUT_S, (
            f"greenbudget: {READ_TIMEOUT_ENV}={raw!r} is more than the longest bound; "
            f"meters are given {MAX_READ_TIMEOUT_S:g} s"
        )
    if not value > 0:  # nan, zero, negative, not a number
        return DEFAULT_READ_TIMEOUT_S, (
            f"greenbudget: {READ_TIMEOUT_ENV}={raw!r} is not a number of seconds > 0; "
            f"meters are given the default {DEFAULT_READ_TIMEOUT_S:g} s"
        )
    return value, None


@dataclass
class MeterSet:
    """The session's meters read as one; same-named domains get ``<meter>:`` prefixes."""

    meters: Sequence[Meter]
    _clashes: set[str] | None = field(default=None, init=False)
    #: Domain names each meter returned at its first reading, for the reports.
    domains_by_meter: dict[str, list[str]] = field(default_factory=dict, init=False)
    _readers: list[Callable[[], Mapping[str, float]]] = field(default_factory=list, init=False)
    _trusted: Callable[[], Mapping[str, float]] | None = field(default=None, init=False)
    #: Warnings for the session's end (an unusable read bound).
    notices: list[str] = field(default_factory=list, init=False)
    _closed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        timeout, notice = read_timeout()
        if notice is not None:
            self.notices.append(notice)
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
                return Reading(self._trusted(), _perf_counter())
            except _NOT_METER_FAULTS:
                raise
            except BaseException as exc:  # SystemExit too: a meter's fault, not the test's
                raise MeterError(
                    f"meter {self.meters[0].name!r} failed to read: {_describe(exc)}"
                ) from exc
        per_meter: list[tuple[str, Mapping[str, float]]] = []
        for meter, read in zip(self.meters, self._readers, strict=True):
            try:
                values = read()
                checked = {str(k): float(v) for k, v in values.items()}
            except _NOT_METER_FAULTS:
                raise
            except BaseException as exc:
                raise MeterError(f"meter {meter.name!r} failed to read: {_describe(exc)}") from exc
            bad = [k for k, v in checked.items() if math.isnan(v) or math.isinf(v)]
            if bad:
                raise MeterError(f"meter {meter.name!r} returned a non-finite value for {bad[0]!r}")
            per_meter.append((meter.name, checked))
            if meter.name not in self.domains_by_meter:
                self.domains_by_meter[meter.name] = list(checked)
        at = _perf_counter()
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

    def close(self) -> list[str]:
        """Close every meter once; a close that raises is ignored, one that blocks is left
        behind after the read bound. Returns warnings for the ones left behind."""
        if self._closed:
            return []
        self._closed = True
        problems = []
        for meter, reader in zip(self.meters, self._readers, strict=True):
            close = getattr(meter, "close", None)
            close = close if callable(close) else None
            if isinstance(reader, BoundedRead):
                problem = reader.close(close)
                if problem is not None:
                    problems.append(f"greenbudget: {problem}")
            elif close is not None:  # a built-in meter: closing is closing file descriptors
                try:
                    close()
                except _NOT_METER_FAULTS:
                    raise
                except BaseException:
                    pass
        return problems


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
        difference = end - start
        if not difference <= MAX_JOULES:  # inf or nan too (-1.7e308 then +1.7e308)
            raise MeterError(
                f"meter {owner(key)!r}: domain {key!r} jumped from {start:g} J to {end:g} J, "
                f"more than {MAX_JOULES:g} J in one window: not a real reading"
            )
        domains[key] = difference
    vanished = [key for key in before.joules if key not in after.joules]
    if vanished:
        raise MeterError(
            f"meter {owner(vanished[0])!r}: domain {vanished[0]!r} vanished between two readings"
        )
    total = math.fsum(domains.values())
    if not total <= MAX_JOULES:
        raise MeterError(
            f"meter {owner(next(iter(domains)))!r}: the domains add up to {total:g} J, more "
            f"than {MAX_JOULES:g} J in one window: not a real reading"
        )
    return Measurement(domains, max(0.0, after.at - before.at), total=total)


def median(rounds: Sequence[Measurement]) -> Measurement:
    """The median round, domain by domain; seconds likewise."""
    if len(rounds) == 1:
        return rounds[0]
    names = list(dict.fromkeys(name for m in rounds for name in m.domains))
    domains = {n: median_of([m.domains.get(n, 0.0) for m in rounds]) for n in names}
    return Measurement(
        domains,
        median_of([m.seconds for m in rounds]),
        len(rounds),
        median_of([m.joules for m in rounds]),
    )
