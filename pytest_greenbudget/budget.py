"""Which budget applies to a test, and what a measurement against it means.

Pure functions over plain data, so that precedence and verdict rules are tested
without running pytest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypeAlias

from pytest_greenbudget.carbon import joules_to_grams
from pytest_greenbudget.entry import FINDINGS, Status
from pytest_greenbudget.quantity import Quantity, format_per_unit
from pytest_greenbudget.settings import (
    OVERRIDE_KEYS,
    OnExceed,
    OverrideError,
    Overrides,
    Settings,
    parse_overrides,
)
from pytest_greenbudget.stats import EXACT, Comparison, NoisePrior, compare

#: Without a max_rounds of its own, a test with rounds = N may run up to this x N rounds
#: to decide a verdict the noise leaves open (a test with rounds = 1 is never repeated).
DEFAULT_MAX_ROUNDS_FACTOR = 2

MARKER = "energy_budget"
MARKER_KEYWORDS = OVERRIDE_KEYS
#: The validated arguments of one ``energy_budget`` marker (or one region).
MarkerArgs: TypeAlias = Overrides


class MarkerError(ValueError):
    """A bad ``energy_budget`` marker; the message names the marker and the value."""


class Policy(NamedTuple):
    """The effective settings for one measured test."""

    budget: Quantity | None
    tolerance: float
    on_exceed: OnExceed
    rounds: int
    warmup: int
    #: Rounds this test may run to decide an undecided verdict (== rounds: never more).
    max_rounds: int = 1


def parse_marker(args: Sequence[object], kwargs: Mapping[str, object]) -> MarkerArgs:
    """Validate ``energy_budget(budget=None, *, tolerance, on_exceed, rounds, warmup, ...)``."""
    where = "@pytest.mark.energy_budget"
    if len(args) > 1:
        raise MarkerError(f"{where} takes one positional argument (the budget), got {len(args)}")
    unknown = sorted(set(kwargs) - set(MARKER_KEYWORDS))
    if unknown:
        raise MarkerError(
            f"{where} got unknown keyword {unknown[0]!r}; known: {', '.join(MARKER_KEYWORDS)}"
        )
    if args and "budget" in kwargs:
        raise MarkerError(f"{where} got the budget twice (positional and budget=)")
    values = {**kwargs, "budget": args[0] if args else kwargs.get("budget")}
    try:
        return MarkerArgs(**parse_overrides(values))
    except OverrideError as exc:
        raise MarkerError(f"{where}({exc.key}={exc.raw!r}): {exc}") from None


def resolve_policy(settings: Settings, nodeid: str, marker: MarkerArgs | None) -> Policy | None:
    """The test's policy (marker > budgets pattern > table > default), or None if unmeasured."""
    pattern = settings.pattern_for(nodeid)
    if marker is None and pattern is None and not settings.measure_all:
        return None
    layers: list[Overrides] = [m for m in (marker, pattern) if m is not None]

    def pick(name: str, fallback: object) -> object:
        for layer in layers:
            value = getattr(layer, name, None)
            if value is not None:
                return value
        return fallback

    on_exceed = "warn" if settings.warn_only else pick("on_exceed", settings.on_exceed)
    rounds: int = pick("rounds", settings.rounds)  # type: ignore[assignment]
    explicit = pick("max_rounds", settings.max_rounds)
    if isinstance(explicit, int):
        max_rounds = max(rounds, explicit)  # layers may disagree: rounds always run
    else:
        max_rounds = rounds * DEFAULT_MAX_ROUNDS_FACTOR if rounds > 1 else 1
    return Policy(
        budget=pick("budget", settings.default_budget),  # type: ignore[arg-type]
        tolerance=pick("tolerance", settings.tolerance),  # type: ignore[arg-type]
        on_exceed=on_exceed,  # type: ignore[arg-type]
        rounds=rounds,
        warmup=pick("warmup", settings.warmup),  # type: ignore[arg-type]
        max_rounds=max_rounds,
    )


class Verdict(NamedTuple):
    """The status of one entry and, when it is a finding, the sentence that explains it."""

    status: Status
    message: str | None = None

    @property
    def is_finding(self) -> bool:
        return self.status in FINDINGS


def _percent(used: float, limit: float) -> str:
    return f"{used / limit * 100:.0f} %" if limit > 0 else "budget is zero"


def judge(
    joules: float,
    *,
    budget: Quantity | None,
    baseline_joules: float | None,
    tolerance: float,
    min_delta: float,
    intensity: float,
    per: str | None = None,
    budget_joules: float | None = None,
    samples: Sequence[float] = (),
    baseline_samples: Sequence[float] = (),
    noise: NoisePrior = EXACT,
    parallel: bool = False,
    one_off: str | None = None,
) -> Verdict:
    """The verdict for a measurement (SPEC 8 precedence, SPEC 12 noise).

    over_budget > regressed > inconclusive > improved > ok > new. ``samples`` are the
    measured rounds (``joules`` is their median), ``baseline_samples`` the saving run's;
    without them each side counts as one reading. ``parallel``: a side kept several CPUs
    busy (``noise`` is then already the wider prior), which the message names. ``one_off``:
    why a change past the noise is still no evidence (a one-off cost on a side); such a
    change is ``inconclusive`` with that reason.

    Per unit of work (SPEC 14; ``work.choose`` picks the numbers): ``per`` is the work unit
    of ``joules``, ``baseline_joules``, the samples and ``min_delta`` when they are per
    unit, and ``budget_joules`` (default ``joules``) is the figure compared with the
    budget, per unit when ``budget.per`` is set.
    """
    if budget is not None:
        used = joules if budget_joules is None else budget_joules
        unit = budget.per

        def energy(value: float) -> str:
            return format_per_unit(value, "energy", unit)

        if budget.kind == "energy" and used > budget.value:
            return Verdict(
                "over_budget",
                f"energy budget exceeded: used {energy(used)}, "
                f"budget {energy(budget.value)} ({_percent(used, budget.value)})",
            )
        grams = joules_to_grams(used, intensity)
        if budget.kind == "carbon" and grams > budget.value:
            carbon = format_per_unit(grams, "carbon", unit)
            limit = format_per_unit(budget.value, "carbon", unit)
            return Verdict(
                "over_budget",
                f"carbon budget exceeded: used {carbon} ({energy(used)} "
                f"at {intensity:g} gCO2e/kWh), budget {limit} "
                f"({_percent(grams, budget.value)})",
            )

    def format_joules(value: float) -> str:  # the baseline's numbers, per unit or total
        return format_per_unit(value, "energy", per)

    if baseline_joules is not None:
        found = compare_to_baseline(
            joules, baseline_joules, samples, baseline_samples, tolerance, min_delta, noise
        )
        change = joules - baseline_joules
        relative = f"{change / baseline_joules * 100:+.0f} %" if baseline_joules > 0 else "new > 0"
        detail = (
            f"used {format_joules(joules)}, baseline {format_joules(baseline_joules)} "
            f"({relative}, tolerance {tolerance * 100:g} %"
        )
        noise_text = "" if noise.exact and found.noise_rel == 0 else (
            f", noise +-{found.noise_rel * 100:.0f} %"
        )
        if one_off is not None and found.status in ("regressed", "improved"):
            return Verdict(
                "inconclusive", f"energy change inconclusive: {detail}{noise_text}); {one_off}"
            )
        if found.status == "regressed":
            return Verdict("regressed", f"energy regression: {detail}{noise_text})")
        if found.status == "inconclusive":
            return Verdict(
                "inconclusive",
                f"energy change inconclusive: used {format_joules(joules)}, baseline "
                f"{format_joules(baseline_joules)} ({found.describe(parallel)})",
            )
        if found.status == "improved":
            return Verdict(
                "improved",
                f"energy improved: {detail}{noise_text}); "
                "run with --greenbudget-save to update the baseline",
            )
    if budget is None and baseline_joules is None:
        return Verdict("new")
    return Verdict("ok")


def compare_to_baseline(
    joules: float,
    baseline_joules: float,
    samples: Sequence[float],
    baseline_samples: Sequence[float],
    tolerance: float,
    min_delta: float,
    noise: NoisePrior,
) -> Comparison:
    """stats.compare on the rounds, falling back to the single numbers where none were kept."""
    current = list(samples) or [joules]
    base = list(baseline_samples) or [baseline_joules]
    return compare(current, base, tolerance=tolerance, min_delta=min_delta, prior=noise)
