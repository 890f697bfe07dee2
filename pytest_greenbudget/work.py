"""Energy per unit of work (SPEC section 14): joules per sample, per token, per image.

A test whose batch doubles uses twice the energy and has not regressed; one that spends
30 % more per token has. So a test may say how much work each measured round did, and
budgets and baselines are then compared per unit. Everything here is pure: recording
counts per round, the per-unit figure (the median over rounds of each round's joules /
count), and choosing which numbers a verdict compares. ``session.py`` only wires it in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pytest_greenbudget.quantity import WORK_UNIT, Quantity
from pytest_greenbudget.stats import median


class WorkError(ValueError):
    """A bad ``work(count, unit)`` call; the message names the test, the unit and the value."""


@dataclass(frozen=True)
class Work:
    """How much work one round of an entry did: ``count`` units of ``unit``."""

    count: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        """``{"count": n, "unit": u}``; a whole count is written as an integer."""
        count: float | int = int(self.count) if self.count.is_integer() else self.count
        return {"count": count, "unit": self.unit}


def check_unit(unit: object) -> str | None:
    """None when ``unit`` is a valid work unit name, else what is wrong with it."""
    if not isinstance(unit, str):
        return f"the unit must be a string, got {type(unit).__name__} {unit!r}"
    if WORK_UNIT.fullmatch(unit) is None:
        return (
            f"the unit must be a name of letters, digits and '_' starting with a letter "
            f"(e.g. 'sample', 'token', 'image'), got {unit!r}"
        )
    return None


def check_count(count: object) -> str | None:
    """None when ``count`` is a finite number > 0 (not a bool), else what is wrong with it."""
    if isinstance(count, bool) or not isinstance(count, int | float):
        return f"the count must be a number, got {type(count).__name__} {count!r}"
    try:
        value = float(count)
    except OverflowError:
        return f"the count must be a finite number > 0, got {count!r}"
    if not math.isfinite(value) or value <= 0:
        return f"the count must be a finite number > 0, got {count!r}"
    return None


def work_from_json(data: object) -> Work | None:
    """A ``{"count": n, "unit": u}`` object (or null) read back; raises ValueError otherwise."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ValueError(f"work must be an object {{'count': n, 'unit': u}} or null, got {data!r}")
    problem = check_count(data.get("count")) or check_unit(data.get("unit"))
    if problem is not None:
        raise ValueError(f"work: {problem}")
    return Work(float(data["count"]), str(data["unit"]))


@dataclass
class WorkLog:
    """The work one entry (a test, or a region) recorded, per measured round."""

    #: Who records, for messages: the test's node id, or ``<node id>::<region>``.
    where: str = ""
    unit: str | None = None
    counts: dict[int, float] = field(default_factory=dict)

    def add(self, round_index: int | None, count: object, unit: object) -> None:
        """Add ``count`` units of work to the round; a warm-up round (None) only validates.

        Raises WorkError for a bad count or unit, or a second unit in the same entry.
        """
        call = f"work(count={count!r}, unit={unit!r})"
        problem = check_unit(unit) or check_count(count)
        if problem is not None:
            raise WorkError(f"{self.where}: {call}: {problem}")
        assert isinstance(unit, str) and isinstance(count, int | float)
        if self.unit is not None and unit != self.unit:
            raise WorkError(
                f"{self.where}: {call}: this entry already recorded work in {self.unit!r}; "
                "one unit per entry (measure the other work in a region of its own)"
            )
        self.unit = unit
        if round_index is not None:
            self.counts[round_index] = self.counts.get(round_index, 0.0) + float(count)


def validate_call(where: str, count: object, unit: object) -> None:
    """Check a ``work()`` call where nothing is recorded (``--greenbudget-off``, warm-up)."""
    WorkLog(where).add(None, count, unit)


class PerUnit(NamedTuple):
    """An entry's work and its per-unit figure."""

    work: Work
    #: The median over rounds of each round's joules / count.
    joules_per_unit: float
    #: Each round's joules / count, in round order (for noise estimates).
    samples: tuple[float, ...]


def per_unit(
    joules_by_round: Mapping[int, float], log: WorkLog, extra_joules: float = 0.0
) -> PerUnit | None:
    """The per-unit figure over the rounds that recorded work; None when none did.

    ``extra_joules`` is energy outside the call rounds that belongs to the entry (setup
    and teardown under ``phases = "all"``), added to each round before dividing.
    """
    if log.unit is None:
        return None
    rounds = [i for i in sorted(joules_by_round) if i in log.counts]
    if not rounds:
        return None
    ratios = [(joules_by_round[i] + extra_joules) / log.counts[i] for i in rounds]
    count = median([log.counts[i] for i in rounds])
    return PerUnit(Work(count, log.unit), median(ratios), tuple(ratios))


class UnitBaseline(NamedTuple):
    """A baseline entry's per-unit figure, when it recorded work."""

    unit: str
    joules_per_unit: float


class Figures(NamedTuple):
    """The numbers one verdict compares: totals, or per unit of work where both sides have it."""

    #: Compared with the baseline (per ``per`` when set).
    joules: float
    baseline_joules: float | None
    min_delta: float
    #: The work unit of ``joules``, ``baseline_joules`` and ``min_delta``; None for totals.
    per: str | None
    #: Compared with ``budget`` (per unit when the budget is).
    budget_joules: float
    #: The budget the verdict applies: None when none applies, or when it cannot be applied.
    budget: Quantity | None
    #: The budget the entry reports (a per-unit default budget may not apply at all).
    entry_budget: Quantity | None
    #: Why the budget cannot be applied (the test then fails with this message).
    error: str | None = None


def choose(
    where: str,
    joules: float,
    measured: PerUnit | None,
    budget: Quantity | None,
    *,
    budget_is_default: bool,
    baseline_joules: float | None,
    baseline: UnitBaseline | None,
    min_delta: float,
) -> Figures:
    """Choose per-unit or total numbers for the budget and for the baseline comparison.

    A per-unit budget is compared with the per-unit figure; a per-unit baseline of the
    same unit with it too, and ``min_delta`` is then shared over this run's count (a
    per-unit change matters only when it adds up to more than ``min_delta`` for the work
    done). A per-unit ``default_budget`` applies only to entries with work in its unit.
    """
    budget_joules = joules
    applied, shown, error = budget, budget, None
    if budget is not None and budget.per is not None:
        if measured is not None and measured.work.unit == budget.per:
            budget_joules = measured.joules_per_unit
        elif budget_is_default:
            applied = shown = None
        else:
            applied = None
            got = (
                f"recorded work in {measured.work.unit!r}, not {budget.per!r}"
                if measured is not None
                else f"recorded no work; call energy_meter.work(n, {budget.per!r}) in it"
            )
            error = f"{where}: budget {budget} is per {budget.per}, but the entry {got}"
    if measured is not None and baseline is not None and baseline.unit == measured.work.unit:
        return Figures(
            measured.joules_per_unit,
            baseline.joules_per_unit,
            min_delta / measured.work.count,
            measured.work.unit,
            budget_joules,
            applied,
            shown,
            error,
        )
    return Figures(joules, baseline_joules, min_delta, None, budget_joules, applied, shown, error)


def explicit_budget(*layers: object) -> bool:
    """True when a marker or pattern layer gives its own budget (so no default applies)."""
    return any(getattr(layer, "budget", None) is not None for layer in layers)


def baseline_fields(measured: Work | None, joules_per_unit: float | None) -> dict[str, object]:
    """The keys a saved baseline entry gains for an entry with work."""
    if measured is None or joules_per_unit is None:
        return {}
    return {"work": measured.as_dict(), "joules_per_unit": joules_per_unit}


def unit_baseline(entry: Mapping[str, object]) -> UnitBaseline | None:
    """The per-unit figure of a (validated) baseline entry, or None when it has no work."""
    work = entry.get("work")
    if not isinstance(work, Mapping):
        return None
    unit, count = work.get("unit"), work.get("count")
    jpu = entry.get("joules_per_unit")
    joules = entry.get("joules")
    if not isinstance(unit, str):
        return None
    if isinstance(jpu, int | float) and not isinstance(jpu, bool):
        return UnitBaseline(unit, float(jpu))
    if isinstance(count, int | float) and isinstance(joules, int | float) and count > 0:
        return UnitBaseline(unit, float(joules) / float(count))
    return None
