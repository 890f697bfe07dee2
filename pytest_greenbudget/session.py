"""One session's energy state: settings, meters, baseline, and each test's measurements.

The pytest hooks in ``plugin.py`` call into this object; everything a report needs is
an ``Entry`` whose JSON form travels on test reports, so the controller builds the same
summary with or without pytest-xdist.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_greenbudget.baseline import MAX_SAMPLES
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
from pytest_greenbudget.entry import Entry, Kind, entries_from_json, printable_id
from pytest_greenbudget.measure import Measurement, MeterSet, Reading, delta, median
from pytest_greenbudget.meters.base import MeterError
from pytest_greenbudget.outcome import fail_report, spec_outcome, worse
from pytest_greenbudget.quantity import Quantity
from pytest_greenbudget.settings import Settings
from pytest_greenbudget.stats import NoisePrior, busy_cpus, for_parallel, prior_for
from pytest_greenbudget.warning import EnergyBudgetWarning
from pytest_greenbudget.work import Figures, PerUnit, WorkLog, choose, per_unit

if TYPE_CHECKING:
    from pytest_greenbudget.baseline import Baseline
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
    #: Made by ``energy_meter`` through getfixturevalue(): judged when the call is reported.
    late: bool = False
    #: ``finish`` ran for this attempt; ``settled``: its verdict reached a report.
    finished: bool = False
    settled: bool = False
    #: Skipped or xfailed in its call: no entry (SPEC 8, 15).
    dropped: bool = False
    findings: list[tuple[str, Verdict, Entry]] = field(default_factory=list)
    #: Per-unit budgets that cannot apply (no work, another unit): the test fails.
    problems: list[str] = field(default_factory=list)
    #: Modules first imported during the measured call rounds (their cost is measured).
    imported: int = 0

    def new_attempt(self) -> None:
        """Forget the last attempt (a rerun plugin runs the same item again)."""
        self.setup = self.teardown = None
        self.rounds = []
        self.error = None
        self.round_index = 0
        self.call_ran = self.call_passed = False
        self.regions.clear()  # in place: a fixture of this attempt may hold the dict
        self.entries = []
        self.finished = self.settled = self.dropped = False
        self.findings = []
        self.problems = []
        self.imported = 0
        self.work.unit = None  # in place, as the regions: the fixture may hold the log
        self.work.counts.clear()
    #: The test's own ``energy_meter.work()`` per round (SPEC section 14).
    work: WorkLog = field(default_factory=WorkLog)
    #: The budget is a per-unit ``default_budget``: it applies only to work in its unit.
    budget_is_default: bool = False


ITEM_STATE = pytest.StashKey[ItemState]()
#: At most this many rounds' joules are kept in an entry's ``samples`` (SPEC 7).


class EnergySession:
    """The plugin's state for one pytest process (controller or worker)."""

    def __init__(
        self,
        settings: Settings,
        meters: MeterSet,
        profile: str,
        baseline: Baseline,
        *,
        is_worker: bool = False,
        is_controller: bool = False,
        lock: SessionLock | None = None,
        lock_dir: Path | None = None,
        noise: NoisePrior | None = None,
    ) -> None:
        self.settings = settings
        self.meters = meters
        self.profile = profile
        #: The baseline file as loaded; this session reads only its ``profile``.
        self.baseline = baseline
        #: What the meters declare of their noise (SPEC 12); exact for a silent meter.
        self.noise = noise if noise is not None else prior_for(meters)
        self.is_worker = is_worker
        #: The xdist controller: it runs no test and collects entries from workers' reports.
        self.is_controller = is_controller
        #: Cross-process lock under xdist with machine-wide meters; None otherwise.
        self.lock = lock if not meters.per_process else None
        #: The lock's folder, created by the controller and removed by it at the end.
        self.lock_dir = lock_dir
        self.baseline_count = baseline.count(profile)
        #: Coverage or a profiler in effect (its words), or None (SPEC 12).
        self.instrumentation: str | None = None
        self.entries: list[Entry] = []
        self.outcomes: dict[str, str] = {}
        #: When the session started (the JSON report's run.started and history file name).
        self.started = datetime.now(timezone.utc)
        #: Lines for the end of the terminal summary (what was saved or written where).
        self.notes: list[str] = []
        #: Each test's entries of its latest attempt, to replace on a rerun.
        self._attempts: dict[str, list[Entry]] = {}

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
        state = ItemState(policy=policy, work=WorkLog(item.nodeid))
        default = self.settings.default_budget
        if policy is not None and default is not None and default.per is not None:
            from pytest_greenbudget.work import explicit_budget

            pattern = self.settings.pattern_for(item.nodeid)
            state.budget_is_default = not explicit_budget(marker_args, pattern)
        return state

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
        warmup = policy.warmup if policy is not None else 0
        with self._exclusively(self.needs_exclusive(item, state)):
            state.call_ran = True
            state.round_index = None
            for _ in range(warmup):
                item.runtest()
            modules = len(sys.modules)  # an import in the call is a one-off cost (test order)
            try:
                result = yield from self._rounds(item, state)
            finally:
                state.imported = max(0, len(sys.modules) - modules)
        state.call_passed = True
        return result

    def _rounds(self, item: pytest.Item, state: ItemState) -> Generator[None, object, object]:
        """The measured rounds: extra ones first, pytest's own call last, then more to decide."""
        policy = state.policy
        rounds = policy.rounds if policy is not None else 1
        result: object = None
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
        return result

    def _undecided(self, item: pytest.Item, state: ItemState) -> bool:
        """True when the call rounds so far make this test's baseline verdict inconclusive."""
        policy = state.policy
        if policy is None or state.error is not None or not state.rounds:
            return False
        if self.settings.phases == "all":
            return False  # setup and teardown are part of the verdict and not measured yet
        baseline = self.baseline.joules(self.profile, item.nodeid)
        if baseline is None:
            return False
        samples = [m.joules for m in state.rounds]
        found = compare_to_baseline(
            median(state.rounds).joules,
            baseline,
            samples,
            self.baseline.samples(self.profile, item.nodeid),
            policy.tolerance,
            self.settings.min_delta,
            self.noise,
        )
        return found.status == "inconclusive"

    def energy_meter(self, state: ItemState, nodeid: str = "") -> EnergyMeter:
        from pytest_greenbudget.fixture import EnergyMeter

        if nodeid:
            state.work.where = nodeid
        return EnergyMeter(
            self.meters,
            self.settings.carbon_intensity,
            lambda: state.round_index,
            state.regions,
            exclusive=self.region_exclusive,
            work=state.work,
            nodeid=nodeid,
        )

    def region_exclusive(self) -> contextlib.AbstractContextManager[object]:
        """A region under a machine-wide meter runs alone, wherever it is measured.

        Nested in a measured call's exclusive hold it costs nothing; a region the call
        did not know of (getfixturevalue, another fixture's teardown) takes it itself.
        """
        return self.lock.exclusive() if self.lock is not None else contextlib.nullcontext()

    # -- judging ----------------------------------------------------------------------

    def finish(self, item: pytest.Item, state: ItemState) -> None:
        """Build the entries and the findings; ``settle`` acts on them once reported."""
        if not state.call_ran or state.finished:
            return
        state.finished = True
        location = _location(item)
        settings = self.settings
        policy = state.policy
        findings: list[tuple[str, Verdict, Entry]] = []
        problems: list[str] = []  # per-unit budgets that cannot apply: the test fails
        if policy is not None:
            measurement: Measurement | None = None
            if state.error is None and state.rounds:
                measurement = median(state.rounds)
                if settings.phases == "all":
                    if state.setup is None or state.teardown is None:
                        measurement = None
                    else:
                        try:
                            measurement = state.setup + measurement + state.teardown
                        except MeterError as exc:
                            measurement, state.error = None, str(exc)
            extra = 0.0
            if measurement is not None and state.setup is not None and state.teardown is not None:
                extra = state.setup.joules + state.teardown.joules
            work = (
                per_unit(dict(enumerate(m.joules for m in state.rounds)), state.work, extra)
                if state.work.unit is not None
                else None
            )
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
                imported=state.imported,
                work=work,
                budget_is_default=state.budget_is_default,
                problems=problems,
            )
            entry.rounds = max(len(state.rounds), 1)
            entry.samples = call_samples[:MAX_SAMPLES] if measurement is not None else []
            state.entries.append(entry)
            if entry.is_finding:
                findings.append((policy.on_exceed, Verdict(entry.status, entry.message), entry))
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
                work=per_unit({i: m.joules for i, m in record.rounds.items()}, record.work),
                problems=problems,
            )
            entry.rounds = len(rounds)
            entry.samples = (
                [m.joules for m in rounds][:MAX_SAMPLES] if region_measurement is not None else []
            )
            state.entries.append(entry)
            if entry.is_finding:
                on_exceed = record.settings.on_exceed or default_on_exceed
                on_exceed = "warn" if settings.warn_only else on_exceed
                verdict = Verdict(entry.status, f"{printable_id(name)}: {entry.message}")
                findings.append((on_exceed, verdict, entry))
        if findings and (def_line := _def_line(item)) is not None:
            for _, _, entry in findings:
                entry.location = (entry.location[0], def_line)
        state.findings = findings
        state.problems = problems

    def settle(self, item: pytest.Item, state: ItemState, report: pytest.TestReport) -> None:
        """Apply a finished attempt's verdicts to the report of the phase that finished it.

        Called from the outermost makereport wrapper, so ``report`` already carries the
        test's own outcome as every plugin decided it (xfail, unittest, reruns). Only a
        passed report of a test whose call passed can fail or warn for energy.
        """
        if not state.finished or state.settled:
            return
        state.settled = True
        if state.dropped:
            return
        for entry in state.entries:
            if entry.kind == "test":
                for prop in _junit(entry):
                    item.user_properties.append(prop)
                    report.user_properties.append(prop)
        if state.call_passed and report.passed and (state.findings or state.problems):
            failing = [*state.problems, *self._act(item, state.findings)]
            if failing:
                fail_report(item, report, "\n".join(m for m in failing if m))

    def _act(self, item: pytest.Item, findings: list[tuple[str, Verdict, Entry]]) -> list[str]:
        """Warn for each warning finding; return the messages of those that fail the test."""
        failing = []
        for how, verdict, entry in findings:
            if how == "fail" and self._fails(verdict):
                entry.failed_for_energy = True
                failing.append(verdict.message or "")
                continue
            path, line = _location(item)
            try:
                warnings.warn_explicit(
                    EnergyBudgetWarning(f"{item.nodeid}: {verdict.message}"),
                    category=EnergyBudgetWarning,
                    filename=path,
                    lineno=(line or 0) + 1,
                )
            except EnergyBudgetWarning as exc:  # -W error: the warning fails this test
                entry.failed_for_energy = True
                failing.append(f"EnergyBudgetWarning: {exc}")
        return failing

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
        *,
        imported: int = 0,
        work: PerUnit | None = None,
        budget_is_default: bool = False,
        problems: list[str] | None = None,
    ) -> Entry:
        settings = self.settings
        entry_id = printable_id(entry_id)
        baseline = self.baseline.joules(self.profile, entry_id)
        entry = Entry(
            id=entry_id,
            kind=kind,
            status="unmeasured",
            budget=budget,
            baseline_joules=baseline,
            tolerance=tolerance,
            location=location,
        )
        if measurement is not None:
            try:
                grams = joules_to_grams(measurement.joules, settings.carbon_intensity)
            except MeterError as exc:
                measurement, error = None, str(exc)
        if measurement is None:
            entry.message = f"unmeasured: {error or 'no reading'}"
            return entry
        # Per unit of work (SPEC 14): which numbers the budget and the baseline compare.
        figures = choose(
            entry_id,
            measurement.joules,
            work,
            budget,
            budget_is_default=budget_is_default,
            baseline_joules=baseline,
            baseline=None if work is None else self.baseline.per_unit(self.profile, entry_id),
            min_delta=settings.min_delta,
        )
        busy = (
            busy_cpus(measurement.joules, measurement.seconds, self.noise),
            busy_cpus(baseline, self.baseline.seconds(self.profile, entry_id), self.noise)
            if baseline
            else 0.0,
        )
        noise = for_parallel(self._noise_for(figures, measurement.joules), *busy)
        verdict = judge(
            figures.joules,
            budget=figures.budget,
            baseline_joules=figures.baseline_joules,
            tolerance=tolerance,
            min_delta=figures.min_delta,
            intensity=settings.carbon_intensity,
            per=figures.per,
            budget_joules=figures.budget_joules,
            samples=samples if figures.per is None or work is None else work.samples,
            baseline_samples=self._baseline_samples(entry_id, baseline, figures),
            noise=noise,
            parallel=noise.between > self.noise.between,
            one_off=_one_off_imports(
                imported,
                0 if baseline is None else self.baseline.imported(self.profile, entry_id),
            ),
        )
        entry.imported = imported
        entry.status = verdict.status
        entry.message = verdict.message
        entry.budget = figures.entry_budget
        if work is not None:
            entry.work = work.work
            entry.joules_per_unit = work.joules_per_unit
            entry.co2_grams_per_unit = joules_to_grams(
                work.joules_per_unit, settings.carbon_intensity
            )
            if figures.per is not None:
                entry.baseline_joules_per_unit = figures.baseline_joules
        if figures.error is not None:
            entry.message = figures.error
            if problems is not None:
                problems.append(figures.error)
        entry.joules = measurement.joules
        entry.seconds = measurement.seconds
        entry.co2_grams = grams
        entry.domains = dict(measurement.domains)
        entry.below_resolution = measurement.seconds < self.meters.resolution_s
        return entry

    def _noise_for(self, figures: Figures, joules: float) -> NoisePrior:
        """The meter's prior, its per-reading floor shared over the work when per unit.

        The floor is joules of one reading; compared per unit, the figures are joules per
        unit, so the floor is too (this run's count stands in for the baseline's).
        """
        noise = self.noise
        if figures.per is None or noise.floor_j == 0 or joules <= 0:
            return noise
        return noise._replace(floor_j=noise.floor_j * figures.joules / joules)

    def _baseline_samples(
        self, entry_id: str, baseline: float | None, figures: Figures
    ) -> Sequence[float]:
        """The saving run's rounds, per unit when the verdict compares per unit.

        The baseline keeps its rounds' totals; scaled to its per-unit figure they keep
        their relative spread, which is all the noise estimate reads.
        """
        if baseline is None or figures.baseline_joules is None:
            return ()
        samples = self.baseline.samples(self.profile, entry_id)
        if figures.per is None:
            return samples
        if baseline <= 0:
            return ()
        scale = figures.baseline_joules / baseline
        return [x * scale for x in samples]

    # -- collecting results (controller side) -----------------------------------------

    def collect(self, report: pytest.TestReport) -> None:
        """Track pytest's outcome per test; take the entries from the teardown report.

        A test run again (pytest-rerunfailures, flaky) keeps one set of entries: the
        last attempt's, with that attempt's outcome. Each attempt starts at its setup.
        """
        nodeid = report.nodeid
        if report.when == "setup":
            self.outcomes.pop(nodeid, None)
        if report.outcome != "passed":  # "passed" is the default: the common case costs nothing
            previous = self.outcomes.get(nodeid, "passed")
            self.outcomes[nodeid] = worse(previous, spec_outcome(report))
        if report.when == "teardown":
            outcome = self.outcomes.pop(nodeid, "passed")
            entries = entries_from_json(getattr(report, "greenbudget_entries", None))
            earlier = self._attempts.pop(nodeid, None)
            if earlier:
                gone = {id(entry) for entry in earlier}
                self.entries[:] = [e for e in self.entries if id(e) not in gone]
            for entry in entries:
                entry.outcome = outcome
                self.entries.append(entry)
            if entries:
                self._attempts[nodeid] = entries


def _one_off_imports(imported: int, baseline_imported: int) -> str | None:
    """Why a change is no evidence when a side first imported modules in its call.

    The first test of a process to use a module pays for importing it, and which test is
    first changes with the test order (pytest-randomly, xdist's scheduling): that cost
    is the order's, not the code's.
    """
    if not (imported or baseline_imported):
        return None
    side = "this run" if imported else "the saving run"
    count = imported or baseline_imported
    return (
        f"{side} first imported {count} module{'s' if count != 1 else ''} during the call, "
        "so its energy includes that one-off cost, which depends on the test order: "
        "set warmup = 1 to leave it out"
    )


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


def _junit(entry: Entry) -> list[tuple[str, object]]:
    properties: list[tuple[str, object]] = []
    properties.append(("energy_status", entry.status))
    if entry.joules is not None:
        properties.append(("energy_joules", f"{entry.joules:.6g}"))
    if entry.budget is not None:
        budget = entry.budget
        unit = "J" if budget.kind == "energy" else "gCO2e"
        per = "" if budget.per is None else f"/{budget.per}"
        properties.append(("energy_budget", f"{budget.value:.6g} {unit}{per}"))
    if entry.baseline_joules is not None:
        properties.append(("energy_baseline_joules", f"{entry.baseline_joules:.6g}"))
    return properties
