"""The energy summary as a terminal table, a JSON document and a Markdown table."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_greenbudget.entry import Entry
from pytest_greenbudget.quantity import format_grams, format_joules

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


def _budget_cell(entry: Entry) -> str:
    budget = entry.budget
    if budget is None:
        return "-"
    if budget.kind == "energy":
        text, used = format_joules(budget.value), entry.joules
    else:
        text, used = format_grams(budget.value), entry.co2_grams
    if used is None:
        return text
    return f"{text} ({_share(used, budget.value)})"


def _share(used: float, limit: float) -> str:
    """Percent of a budget: whole numbers from 10 %, two significant digits below."""
    if limit <= 0:
        return "budget is zero"
    percent = used / limit * 100
    return f"{percent:.0f} %" if percent >= 10 else f"{percent:.2g} %"


def _baseline_cell(entry: Entry) -> str:
    baseline, joules = entry.baseline_joules, entry.joules
    if baseline is None:
        return "-"
    if joules is None or baseline <= 0:
        return format_joules(baseline)
    return f"{format_joules(baseline)} ({(joules - baseline) / baseline * 100:+.0f} %)"


def _energy_cell(entry: Entry) -> str:
    if entry.joules is None:
        return "-"
    text = format_joules(entry.joules)
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
        "joules": math.fsum(e.joules or 0.0 for e in tests),
        "seconds": math.fsum(e.seconds or 0.0 for e in tests),
        "co2_grams": math.fsum(e.co2_grams or 0.0 for e in tests),
    }


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


def terminal_lines(entries: Sequence[Entry], info: RunInfo) -> list[str]:
    """The summary table, aligned for a monospace terminal."""
    table = [COLUMNS, *rows(entries)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    messages = [
        f"{e.id}: {e.message}" for e in entries if e.message and e.status != "ok"
    ]
    return [
        *lines,
        "",
        *messages,
        *([""] if messages else []),
        _totals_line(entries),
        *_provenance(info),
    ]


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
        "totals": totals(entries),
    }


def markdown(entries: Sequence[Entry], info: RunInfo) -> str:
    """The same table for a pull request or a GitHub job summary."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "### Energy budget (pytest-greenbudget)",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows(entries):
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    lines += ["", _totals_line(entries), ""]
    lines += [f"- {line}" for line in _provenance(info)]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str, *, append: bool = False) -> None:
    """Write a report; a report is not precious, but a partial one must not pass as whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
        return
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def json_text(entries: Sequence[Entry], info: RunInfo) -> str:
    return json.dumps(json_document(entries, info), indent=2) + "\n"
