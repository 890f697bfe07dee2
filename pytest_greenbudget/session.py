"""One session's energy state: settings, meters, baseline, and each test's measurements.

The pytest hooks in ``plugin.py`` call into this object; everything a report needs is
an ``Entry`` whose JSON form travels on test reports, so the controller builds the same
summary with or without pytest-xdist.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_greenbudget.budget import (
    MARKER,
    MarkerArgs,
    MarkerError,
    Policy,
    Verdict,
    compare_to_baseline,
    judge,
    parse_marker,
    resolve_policy,
)
from pytest_greenbudget.carbon import joules_to_grams
from pytest_greenbudget.entry import Entry, Kind, entries_from_json
from pytest_greenbudget.measure import Measurement, MeterSet, Reading, delta, median
from pytest_greenbudget.meters.base import MeterError
from pytest_greenbudget.quantity import Quantity
from pytest_greenbudget.settings import Settings
from pytest_greenbudget.stats import NoisePrior, prior_for
from pytest_greenbudget.warning import EnergyBudgetWarning

if TYPE_CHECKING:
    from pytest_greenbudget.fixture import EnergyMeter, RegionRecord
    from pytest_greenbudget.report import RunInfo
    from pytest_greenbudget.xdist import SessionLock


@dataclass
class ItemState:
    """What one test has measured so far."""

    policy: Policy | None = None
    marker_error: str | None = None
    setup: Measurement | None = None
    teardown: Measurement | None = None
    rounds: list[Measurement] = field(default_factory=list)
    error: str | None = None
    round_index: int | None = 0
    call_ran: bool = False
    call_passed: bool = False
    regions: dict[str, RegionRecord] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)


ITEM_STATE = pytest.StashKey[ItemState]()
#: At most this many rounds' joules are kept in an entry's ``samples`` (SPEC 7).
MAX_SAMPLES = 50


class EnergySession:
    """The plugin's state for one pytest process (controller or worker)."""

    def __init__(
        self,
        settings: Settings,
        meters: MeterSet,
        profile: str,
        baseline_joules: Callable[[str], float | None],
        *,
        is_worker: bool = False,
        is_controller: bool = False,
        lock: SessionLock | None = None,
        lock_dir: Path | None = None,
        baseline_samples: Callable[[str], Sequence[float]] | None = None,
        noise: NoisePrior | None = None,
    ) -> None:
        self.settings = settings
        self.meters = meters
        self.profile = profile
        self.baseline_joules = baseline_joules
        #: The saving run's rounds of an entry (empty: only its joules were kept).
        self.baseline_samples = baseline_samples or (lambda _id: ())
        #: What the meters declare of their noise (SPEC 12); exact for a silent meter.
        self.noise = noise if noise is not None else prior_for(meters)
        self.is_worker = is_worker
        #: The xdist controller: it runs no test and collects entries from workers' reports.
        self.is_controller = is_controller
        #: Cross-process lock under xdist with machine-wide meters; None otherwise.
        self.lock = lock if not meters.per_process else None
        #: The lock's folder, created by the controller and removed by it at the end.
        self.lock_dir = lock_dir
        self.baseline_count = 0
        #: Coverage or a profiler in effect (its words), or None (SPEC 12).
        self.instrumentation: str | None = None
        self.entries: list[Entry] = []
        self.outcomes: dict[str, str] = {}

    def shared(self) -> contextlib.AbstractContextManager[object]:
        """Every test holds this while it runs, so an exclusive measurement waits for it."""
        return self.lock.shared() if self.lock is not None else contextlib.nullcontext()

    def lock_dir_for_workers(self) -> str | None:
        return str(self.lock_dir) if self.lock_dir is not None else None

    def run_info(self) -> RunInfo:
        from pytest_greenbudget.report import MeterInfo, RunInfo

        seen = self.meters.domains_by_meter
        if not seen and len(self.meters.meters) == 1:
            names = {d for e in self.entries for d in e.domains}
            seen = {self.meters.names[0]: sorted(names)}
        return RunInfo(
            meters=[
                MeterInfo(
                    m.name,
                    bool(m.estimated),
                    seen.get(m.name, []),
                    str(getattr(m, "details", "") or ""),
                )
                for m in self.meters.meters
            ],
            profile=self.profile,
            intensity=self.settings.carbon_intensity,
            intensity_source=self.settings.intensity_source,
        )

    def close(self) -> None:
        self.meters.close()
        if self.lock is not None:
            self.lock.close()

    # -- collection -----------------------------------------------------------------

    def prepare(self, item: pytest.Item) -> ItemState | None:
        """The item's policy, resolved once; None for a test with nothing to measure.

        A bad marker is kept in the state, to fail that test alone at its setup.
        """
        marker_args: MarkerArgs | None = None
        mark = item.get_closest_marker(MARKER)
        if mark is not None:
            try:
                marker_args = parse_marker(mark.args, mark.kwargs)
            except MarkerError as exc:
                return ItemState(marker_error=f"{item.nodeid}: {exc}")
        policy = resolve_policy(self.settings, item.nodeid, marker_args)
        if policy is None and "energy_meter" not in getattr(item, "fixturenames", ()):
            return None
        return ItemState(policy=policy)

    # -- measuring --------------------------------------------------------------------

    def _read(self, state: ItemState) -> Reading | None:
        if state.error is not None:
            return None
        try:
            return self.meters.read()
        except MeterError as exc:
            state.error = str(exc)
            return None

    def _measure(self, state: ItemState, before: Reading | None) -> Measurement | None:
        after = self._read(state)
        if before is None or after is None:
            return None
        try:
            measurement = delta(before, after, self.meters.owner)
        except MeterError as exc:
            state.error = str(exc)
            return None
        return measurement

    @contextlib.contextmanager
    def _exclusively(self, needed: bool) -> Iterator[None]:
        if needed and self.lock is not None:
            with self.lock.exclusive():
                yield
        else:
            yield

    def needs_exclusive(self, item: pytest.Item, state: ItemState) -> bool:
        uses_fixture = "energy_meter" in getattr(item, "fixturenames", ())
        return (state.policy is not None or uses_fixture) and not self.meters.per_process

    @contextlib.contextmanager
    def measure_phase(self, item: pytest.Item, state: ItemState, phase: str) -> Iterator[None]:
        """Measure setup or teardown when ``phases = "all"``."""
        if state.policy is None or self.settings.phases != "all":
            yield
            return
        with self._exclusively(self.needs_exclusive(item, state)):
            before = self._read(state)
            try:
                yield
            finally:
                measurement = self._measure(state, before)
                setattr(state, phase, measurement)

    def run_call(self, item: pytest.Item, state: ItemState) -> Generator[None, object, object]:
        """Generator body of the call-phase wrapper: warm-up, extra rounds, then the last one."""
        policy = state.policy
        rounds = policy.rounds if policy is not None else 1
        warmup = policy.warmup if policy is not None else 0
        result: object = None
        with self._exclusively(self.needs_exclusive(item, state)):
            state.call_ran = True
            state.round_index = None
            for _ in range(warmup):
                item.runtest()
            for index in range(rounds):
                state.round_index = index
                before = self._read(state) if policy is not None else None
                try:
                    if index == rounds - 1:
                        result = yield
                    else:
                        item.runtest()
                finally:
                    if policy is not None:
                        measured = self._measure(state, before)
                        if measured is not None:
                            state.rounds.append(measured)
            # More rounds to decide (SPEC 12): after pytest's own call, with the same
            # fixtures, while the rounds so far leave the verdict inconclusive.
            index = rounds
            while policy is not None and index < policy.max_rounds and self._undecided(item, state):
                state.round_index = index
                before = self._read(state)
                try:
                    item.runtest()
                finally:
                    measured = self._measure(state, before)
                    if measured is not None:
                        state.rounds.append(measured)
                index += 1
        state.call_passed = True
        return result

    def _undecided(self, item: pytest.Item, state: ItemState) -> bool:
        """True when the call rounds so far make this test's baseline verdict inconclusive."""
        policy = state.policy
        if policy is None or state.error is not None or not state.rounds:
            return False
        if self.settings.phases == "all":
            return False  # setup and teardown are part of the verdict and not measured yet
        baseline = self.baseline_joules(item.nodeid)
        if baseline is None:
            return False
        samples = [m.joules for m in state.rounds]
        found = compare_to_baseline(
            median(state.rounds).joules,
            baseline,
            samples,
            self.baseline_samples(item.nodeid),
            policy.tolerance,
            self.settings.min_delta,
            self.noise,
        )
        return found.status == "inconclusive"

    def energy_meter(self, state: ItemState) -> EnergyMeter:
        from pytest_greenbudget.fixture import EnergyMeter

        return EnergyMeter(
            self.meters, self.settings.carbon_intensity, lambda: state.round_index, state.regions
        )

    # -- judging ----------------------------------------------------------------------

    def finish(self, item: pytest.Item, state: ItemState) -> None:
        """Build the entries; fail or warn for findings of a test that passed on its own."""
        __tracebackhide__ = True
        if not state.call_ran:
            return
        location = _location(item)
        settings = self.settings
        policy = state.policy
        findings: list[tuple[str, Verdict, Entry]] = []
        if policy is not None:
            measurement: Measurement | None = None
            if state.error is None and state.rounds:
                measurement = median(state.rounds)
                if settings.phases == "all":
                    if state.setup is None or state.teardown is None:
                        measurement = None
                    else:
                        measurement = state.setup + measurement + state.teardown
            call_samples = [m.joules for m in state.rounds]
            if measurement is not None and settings.phases == "all":
                fixed = measurement.joules - median(state.rounds).joules  # setup + teardown
                call_samples = [x + fixed for x in call_samples]
            entry = self._entry(
                item.nodeid,
                "test",
                measurement,
                policy.budget,
                policy.tolerance,
                state.error,
                location,
                call_samples,
            )
            entry.rounds = max(len(state.rounds), 1)
            entry.samples = call_samples[:MAX_SAMPLES] if measurement is not None else []
            state.entries.append(entry)
            if entry.is_finding:
                findings.append((policy.on_exceed, Verdict(entry.status, entry.message), entry))
            _junit(item, entry)
        default_tolerance = policy.tolerance if policy is not None else settings.tolerance
        default_on_exceed = policy.on_exceed if policy is not None else settings.on_exceed
        for name, record in state.regions.items():
            rounds = [m for _, m in sorted(record.rounds.items())]
            region_measurement = median(rounds) if rounds and record.error is None else None
            tolerance = record.settings.tolerance
            entry = self._entry(
                f"{item.nodeid}::{name}",
                "region",
                region_measurement,
                record.settings.budget,
                default_tolerance if tolerance is None else tolerance,
                record.error if region_measurement is None else None,
                location,
                [m.joules for m in rounds],
            )
            entry.rounds = len(rounds)
            entry.samples = (
                [m.joules for m in rounds][:MAX_SAMPLES] if region_measurement is not None else []
            )
            state.entries.append(entry)
            if entry.is_finding:
                on_exceed = record.settings.on_exceed or default_on_exceed
                on_exceed = "warn" if settings.warn_only else on_exceed
                verdict = Verdict(entry.status, f"{name}: {entry.message}")
                findings.append((on_exceed, verdict, entry))
        if findings and (def_line := _def_line(item)) is not None:
            for _, _, entry in findings:
                entry.location = (entry.location[0], def_line)
        if state.call_passed and findings:
            self._act(item, findings)

    def _act(self, item: pytest.Item, findings: list[tuple[str, Verdict, Entry]]) -> None:
        __tracebackhide__ = True
        failing = []
        for how, verdict, entry in findings:
            if how == "fail" and self._fails(verdict):
                entry.failed_for_energy = True
                failing.append(verdict.message)
            else:
                path, line = _location(item)
                warnings.warn_explicit(
                    EnergyBudgetWarning(f"{item.nodeid}: {verdict.message}"),
                    category=EnergyBudgetWarning,
                    filename=path,
                    lineno=(line or 0) + 1,
                )
        if failing:
            pytest.fail("\n".join(m for m in failing if m), pytrace=False)

    def _fails(self, verdict: Verdict) -> bool:
        """A regression does not fail a saving run: that run is re-recording the baseline."""
        return not (verdict.status == "regressed" and self.settings.save)

    def _entry(
        self,
        entry_id: str,
        kind: Kind,
        measurement: Measurement | None,
        budget: Quantity | None,
        tolerance: float,
        error: str | None,
        location: tuple[str, int | None],
        samples: Sequence[float] = (),
    ) -> Entry:
        settings = self.settings
        baseline = self.baseline_joules(entry_id)
        entry = Entry(
            id=entry_id,
            kind=kind,
            status="unmeasured",
            budget=budget,
            baseline_joules=baseline,
            tolerance=tolerance,
            location=location,
        )
        if measurement is None:
            entry.message = f"unmeasured: {error or 'no reading'}"
            return entry
        verdict = judge(
            measurement.joules,
            budget=budget,
            baseline_joules=baseline,
            tolerance=tolerance,
            min_delta=settings.min_delta,
            intensity=settings.carbon_intensity,
            samples=samples,
            baseline_samples=self.baseline_samples(entry_id) if baseline is not None else (),
            noise=self.noise,
        )
        entry.status = verdict.status
        entry.message = verdict.message
        entry.joules = measurement.joules
        entry.seconds = measurement.seconds
        entry.co2_grams = joules_to_grams(measurement.joules, settings.carbon_intensity)
        entry.domains = dict(measurement.domains)
        entry.below_resolution = measurement.seconds < self.meters.resolution_s
        return entry

    # -- collecting results (controller side) -----------------------------------------

    def collect(self, report: pytest.TestReport) -> None:
        """Track pytest's outcome per test; take the entries from the teardown report."""
        if report.outcome != "passed":  # "passed" is the default: the common case costs nothing
            previous = self.outcomes.get(report.nodeid, "passed")
            outcome = max(previous, _outcome(report), key=_OUTCOME_RANK.__getitem__)
            self.outcomes[report.nodeid] = outcome
        if report.when == "teardown":
            outcome = self.outcomes.pop(report.nodeid, "passed")
            for entry in entries_from_json(getattr(report, "greenbudget_entries", None)):
                entry.outcome = outcome
                self.entries.append(entry)


_OUTCOME_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _outcome(report: pytest.TestReport) -> str:
    if report.when == "call":
        return report.outcome  # an xfail is "skipped", an XPASS "passed": pytest's own words
    if report.failed:
        return "error"
    return "skipped" if report.skipped else "passed"


def _location(item: pytest.Item) -> tuple[str, int | None]:
    path, line, _ = item.location
    return path, line


def _def_line(item: pytest.Item) -> int | None:
    """0-based line of the test's ``def`` (item.location points at its first decorator)."""
    import inspect

    function = getattr(item, "function", None)
    try:
        lines, start = inspect.getsourcelines(function)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return None
    for offset, text in enumerate(lines):
        if text.lstrip().startswith(("def ", "async def ")):
            return start - 1 + offset
    return None


def _junit(item: pytest.Item, entry: Entry) -> None:
    properties = item.user_properties
    properties.append(("energy_status", entry.status))
    if entry.joules is not None:
        properties.append(("energy_joules", f"{entry.joules:.6g}"))
    if entry.budget is not None:
        budget = entry.budget
        unit = "J" if budget.kind == "energy" else "gCO2e"
        properties.append(("energy_budget", f"{budget.value:.6g} {unit}"))
    if entry.baseline_joules is not None:
        properties.append(("energy_baseline_joules", f"{entry.baseline_joules:.6g}"))
