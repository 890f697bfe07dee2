"""The energy summary as a terminal table, a JSON document and a Markdown table."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_greenbudget.entry import Entry
from pytest_greenbudget.quantity import format_grams, format_joules, format_per_unit
from pytest_greenbudget.summary import SummaryMode, count_line, fit_table, fit_text, select

if TYPE_CHECKING:
    from pytest_greenbudget.history import RunMeta

JSON_SCHEMA = "greenbudget/1"
COLUMNS = ("test", "energy", "budget", "baseline", "CO2e", "status")


@dataclass(frozen=True)
class MeterInfo:
    """What the report says about one meter."""

    name: str
    estimated: bool
    domains: Sequence[str]
    details: str = ""


@dataclass(frozen=True)
class RunInfo:
    """What every report says besides the entries."""

    meters: Sequence[MeterInfo]
    profile: str
    intensity: float
    intensity_source: str
    #: When and at which commit (SPEC 15); None where the report does not say.
    run: RunMeta | None = None


def budget_use(entry: Entry) -> tuple[str, float | None] | None:
    """The entry's budget as text and the figure compared with it (None: not comparable).

    A per-unit budget is compared with the per-unit figure of work in its unit; None
    for the whole when the entry has no budget. The summary and the HTML report share it.
    """
    budget = entry.budget
    if budget is None:
        return None
    if budget.per is not None:  # per unit of work: compared with the per-unit figure
        text = format_per_unit(budget.value, budget.kind, budget.per)
        same_unit = entry.work is not None and entry.work.unit == budget.per
        per_unit = entry.joules_per_unit if budget.kind == "energy" else entry.co2_grams_per_unit
        return text, per_unit if same_unit else None
    if budget.kind == "energy":
        return format_joules(budget.value), entry.joules
    return format_grams(budget.value), entry.co2_grams


def _budget_cell(entry: Entry) -> str:
    found = budget_use(entry)
    if found is None:
        return "-"
    text, used = found
    if used is None or entry.budget is None:
        return text
    return f"{text} ({_share(used, entry.budget.value)})"


def _share(used: float, limit: float) -> str:
    """Percent of a budget: whole numbers from 10 %, two significant digits below."""
    if limit <= 0:
        return "budget is zero"
    percent = used / limit * 100
    return f"{percent:.0f} %" if percent >= 10 else f"{percent:.2g} %"


def _baseline_cell(entry: Entry) -> str:
    baseline, joules = entry.baseline_joules, entry.joules
    if entry.baseline_joules_per_unit is not None and entry.work is not None:  # per unit
        baseline, joules = entry.baseline_joules_per_unit, entry.joules_per_unit
        unit = entry.work.unit
        if joules is None or baseline <= 0:
            return format_per_unit(baseline, "energy", unit)
        change = (joules - baseline) / baseline * 100
        return f"{format_per_unit(baseline, 'energy', unit)} ({change:+.0f} %)"
    if baseline is None:
        return "-"
    if joules is None or baseline <= 0:
        return format_joules(baseline)
    return f"{format_joules(baseline)} ({(joules - baseline) / baseline * 100:+.0f} %)"


def _energy_cell(entry: Entry) -> str:
    if entry.joules is None:
        return "-"
    text = format_joules(entry.joules)
    if entry.joules_per_unit is not None and entry.work is not None:
        text += f" ({format_per_unit(entry.joules_per_unit, 'energy', entry.work.unit)})"
    if entry.rounds > 1:
        text += f" (median of {entry.rounds})"
    if entry.below_resolution:
        text += " (below meter resolution)"
    return text


def rows(entries: Sequence[Entry]) -> list[tuple[str, ...]]:
    """One row of cells per entry, in the order of COLUMNS."""
    return [
        (
            entry.id,
            _energy_cell(entry),
            _budget_cell(entry),
            _baseline_cell(entry),
            "-" if entry.co2_grams is None else format_grams(entry.co2_grams),
            entry.status,
        )
        for entry in entries
    ]


def totals(entries: Sequence[Entry]) -> dict[str, float]:
    """Sums over measured test entries; regions are already inside their tests."""
    tests = [e for e in entries if e.kind == "test" and e.joules is not None]
    return {
        "joules": _sum(e.joules or 0.0 for e in tests),
        "seconds": _sum(e.seconds or 0.0 for e in tests),
        "co2_grams": _sum(e.co2_grams or 0.0 for e in tests),
    }


def _sum(values: Iterable[float]) -> float:
    """fsum, or inf where it overflows (fsum raises). Entries are bounded (measure.MAX_JOULES),
    so this only guards the summary against entries from elsewhere."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.inf


def _provenance(info: RunInfo) -> list[str]:
    meters = ", ".join(
        f"{m.name} ({'estimated' if m.estimated else 'measured'}"
        f"{': ' + m.details if m.details else ''})"
        for m in info.meters
    )
    kind = "estimated" if any(m.estimated for m in info.meters) else "measured by hardware counters"
    return [
        f"meters: {meters}",
        f"numbers are {kind}; CO2e at {info.intensity:g} gCO2e/kWh ({info.intensity_source}); "
        f"profile {info.profile}",
    ]


def _totals_line(entries: Sequence[Entry]) -> str:
    total = totals(entries)
    return (
        f"total: {format_joules(total['joules'])} in {total['seconds']:.2f} s, "
        f"{format_grams(total['co2_grams'])}"
    )


def terminal_lines(
    entries: Sequence[Entry],
    info: RunInfo,
    *,
    width: int | None = None,
    summary: SummaryMode | None = "all",
    ellipsis: str = "…",
) -> list[str]:
    """The summary table, aligned for a monospace terminal; no line is longer than `width`.

    `summary` picks the rows (SPEC 15; None: all up to 50 entries, changes beyond);
    "none" leaves only the line that counts each status.
    """
    selection = select(entries, summary)
    counts = count_line(selection)
    if selection.mode == "none":
        return fit_text(counts, width)
    lines = fit_table(COLUMNS, rows(selection.shown), width, ellipsis=ellipsis)
    if not selection.shown and selection.mode != "all":
        lines = []  # no changes: no table, the count line says so
    messages = [
        f"{e.id}: {e.message}" for e in selection.shown if e.message and e.status != "ok"
    ]
    prose = [
        *messages,
        *([""] if messages else []),
        _totals_line(entries),
        *_provenance(info),
    ]
    fitted = [part for line in prose for part in fit_text(line, width)]
    return [*lines, *([""] if lines else []), *fitted, *fit_text(counts, width)]


def json_document(entries: Sequence[Entry], info: RunInfo) -> dict[str, Any]:
    """The ``greenbudget/1`` JSON report."""
    return {
        "schema": JSON_SCHEMA,
        "meters": [
            {
                "name": m.name,
                "estimated": m.estimated,
                "domains": list(m.domains),
                "details": m.details,
            }
            for m in info.meters
        ],
        "profile": info.profile,
        "carbon_intensity_g_per_kwh": info.intensity,
        "entries": [entry.report_json() for entry in entries],
        # JSON has no infinity: a total that overflowed is null, not invalid JSON.
        "totals": {k: v if math.isfinite(v) else None for k, v in totals(entries).items()},
        **({"run": info.run.to_json()} if info.run is not None else {}),
    }


#: GitHub's job summary limit is 1 MiB per step; stay under it with room to spare.
MARKDOWN_LIMIT = 1024 * 1024 - 4096


def markdown(
    entries: Sequence[Entry],
    info: RunInfo,
    *,
    summary: SummaryMode | None = "all",
    limit: int = MARKDOWN_LIMIT,
) -> str:
    """The same table for a pull request or a GitHub job summary, under `limit` bytes."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    if not entries:  # a CI step that uploads the file must still find one
        lines = ["### Energy budget (pytest-greenbudget)", "", "Nothing was measured.", ""]
        return "\n".join([*lines, *(f"- {line}" for line in _provenance(info))]) + "\n"
    selection = select(entries, summary)
    head = ["### Energy budget (pytest-greenbudget)", ""]
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    tail = ["", _totals_line(entries), ""]
    tail += [f"- {line}" for line in _provenance(info)]
    tail += [f"- {count_line(selection)}"]
    # Room for the rows: the limit less everything else and a line saying what was cut.
    reserve = len("\n".join([*head, *table, *tail, "_" + "9" * 60 + "_", ""]).encode()) + 200
    room = limit - reserve
    body: list[str] = []
    for row in rows(selection.shown):
        line = "| " + " | ".join(cell(c) for c in row) + " |"
        size = len(line.encode()) + 1
        if size > room:
            break
        body.append(line)
        room -= size
    cut = len(selection.shown) - len(body)
    lines = [*head]
    if body:
        lines += [*table, *body]
    if cut:
        lines += [
            "",
            f"_{cut} of {len(selection.shown)} rows left out to stay under GitHub's 1 MiB "
            "job summary limit; the JSON report (--greenbudget-json) has every entry._",
        ]
    lines += tail
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str, *, append: bool = False) -> None:
    """Write a report; a report is not precious, but a partial one must not pass as whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # An id can hold a lone surrogate (a file name's undecodable byte, a region name):
    # it is shown as its escape (\udcff) rather than failing the whole report.
    if append:
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        return
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8", errors="backslashreplace")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def json_text(entries: Sequence[Entry], info: RunInfo) -> str:
    return json.dumps(json_document(entries, info), indent=2) + "\n"
