"""The ``energy_meter`` fixture: named regions measured inside a test body."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from pytest_greenbudget.carbon import joules_to_grams
from pytest_greenbudget.measure import Measurement, MeterSet, delta
from pytest_greenbudget.meters.base import MeterError
from pytest_greenbudget.settings import OverrideError, Overrides, parse_overrides
from pytest_greenbudget.work import WorkLog, validate_call


@dataclass
class RegionResult:
    """What a region measured; the numbers are filled in when its ``with`` block ends."""

    name: str
    joules: float = float("nan")
    seconds: float = float("nan")
    co2_grams: float = float("nan")
    domains: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None
    #: Where ``work()`` records: the region's log and this use's round (None: validate only).
    _log: WorkLog = field(default_factory=WorkLog, repr=False)
    _round: int | None = field(default=None, repr=False)

    def work(self, count: float, unit: str) -> None:
        """Say how much work the region did in this round, e.g. ``r.work(len(batch), "image")``.

        Calls in the same round add up; one unit per region (SPEC section 14).
        """
        __tracebackhide__ = True
        self._log.add(self._round, count, unit)

    def __repr__(self) -> str:
        return f"RegionResult({self.name!r}, joules={self.joules:.6g}, seconds={self.seconds:.3g})"


@dataclass
class RegionRecord:
    """All of one region's rounds in one test, and its own settings."""

    settings: Overrides
    rounds: dict[int, Measurement] = field(default_factory=dict)
    error: str | None = None
    work: WorkLog = field(default_factory=WorkLog)


class EnergyMeter:
    """Measures named regions; results go both to the caller and to the test's entries."""

    def __init__(
        self,
        meters: MeterSet,
        intensity: float,
        current_round: Callable[[], int | None],
        records: dict[str, RegionRecord] | None,
        *,
        exclusive: Callable[[], AbstractContextManager[object]] = nullcontext,
        work: WorkLog | None = None,
        nodeid: str = "",
    ) -> None:
        self._exclusive = exclusive
        self._meters = meters
        self._intensity = intensity
        self._current_round = current_round
        self._records = records
        #: The test's own work log; None when nothing is recorded (``--greenbudget-off``).
        self._work = work
        self._nodeid = nodeid

    def work(self, count: float, unit: str) -> None:
        """Say how much work the test did in this round: ``energy_meter.work(len(X), "sample")``.

        Calls in the same round add up; one unit per test. The reports then show joules
        per unit, and per-unit budgets and baselines are compared with it (SPEC section 14).
        """
        __tracebackhide__ = True
        if self._work is None:
            validate_call(self._nodeid or "energy_meter", count, unit)
            return
        self._work.add(self._current_round(), count, unit)

    @contextmanager
    def measure(
        self,
        name: str,
        budget: object = None,
        *,
        tolerance: object = None,
        on_exceed: object = None,
    ) -> Iterator[RegionResult]:
        """Measure the block as region ``name``; budget, tolerance and on_exceed as the marker."""
        if not isinstance(name, str) or not name or "::" in name:
            raise ValueError(f"energy_meter.measure(name={name!r}): a non-empty name without '::'")
        given = {"budget": budget, "tolerance": tolerance, "on_exceed": on_exceed}
        try:
            settings = Overrides(**parse_overrides(given))
        except OverrideError as exc:
            raise ValueError(
                f"energy_meter.measure({name!r}, {exc.key}={exc.raw!r}): {exc}"
            ) from None
        result = RegionResult(name)
        self._attach_work(name, settings, result)
        with self._exclusive():
            yield from self._measure(name, settings, result)

    def _measure(
        self, name: str, settings: Overrides, result: RegionResult
    ) -> Iterator[RegionResult]:
        try:
            before = self._meters.read()
        except MeterError as exc:
            before, result.error = None, str(exc)
        try:
            yield result
        finally:
            if before is not None:
                try:
                    measurement = delta(before, self._meters.read(), self._meters.owner)
                    grams = joules_to_grams(measurement.joules, self._intensity)
                    self._record(name, settings, measurement)  # adds rounds: may overflow
                except MeterError as exc:
                    result.error = str(exc)
                else:
                    result.joules = measurement.joules
                    result.seconds = measurement.seconds
                    result.domains = dict(measurement.domains)
                    result.co2_grams = grams
            if result.error is not None:
                self._record_error(name, settings, result.error)

    def _attach_work(self, name: str, settings: Overrides, result: RegionResult) -> None:
        """Point the result's ``work()`` at the region's log for the current round."""
        where = f"{self._nodeid}::{name}" if self._nodeid else name
        round_index = self._current_round()
        if self._records is None or round_index is None:
            result._log = WorkLog(where)  # validated, not recorded (warm-up, or off)
            return
        record = self._records.setdefault(name, RegionRecord(settings))
        record.work.where = where
        result._log, result._round = record.work, round_index

    def _record(self, name: str, settings: Overrides, measurement: Measurement) -> None:
        round_index = self._current_round()
        if self._records is None or round_index is None:
            return
        record = self._records.setdefault(name, RegionRecord(settings))
        earlier = record.rounds.get(round_index)
        record.rounds[round_index] = measurement if earlier is None else earlier + measurement

    def _record_error(self, name: str, settings: Overrides, error: str) -> None:
        if self._records is not None:
            self._records.setdefault(name, RegionRecord(settings)).error = error
