"""Energy, Budget and Energy status columns in pytest-html's results table (SPEC 15).

Registered only when pytest-html is active (its hook specs exist only then).
pytest-html builds a test's rows once its teardown report is logged, and asks for the
cells of each of that test's reports (setup, call, teardown). The entries travel on
the teardown report (``greenbudget_entries``, also under xdist), so this plugin keeps
them by node id when that report is logged (before pytest-html, which runs last) and
fills every row of the test from them.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pytest

from pytest_greenbudget.entry import Entry, entries_from_json

HEADERS = ("Energy", "Budget", "Energy status")
CLASSES = ("greenbudget-energy", "greenbudget-budget", "greenbudget-status")


def cells_for(entries: list[Entry]) -> tuple[str, str, str]:
    """The three cells' HTML: the test's own entry first, then its regions by name."""
    from pytest_greenbudget.report import rows

    if not entries:
        return ("", "", "")
    ordered = sorted(entries, key=lambda e: e.kind != "test")
    prefix = [
        "" if e.kind == "test" else escape(e.id.rsplit("::", 1)[-1]) + ": " for e in ordered
    ]
    table = rows(ordered)
    energy = "<br>".join(p + escape(row[1]) for p, row in zip(prefix, table, strict=True))
    budget = "<br>".join(p + escape(row[2]) for p, row in zip(prefix, table, strict=True))
    status = "<br>".join(p + escape(row[5]) for p, row in zip(prefix, table, strict=True))
    return energy, budget, status


class HtmlColumns:
    """pytest-html hooks; the entries of each test are kept until its rows are built."""

    NAME = "greenbudget-html-columns"

    def __init__(self) -> None:
        self.entries: dict[str, list[Entry]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        carried = getattr(report, "greenbudget_entries", None)
        if carried:
            self.entries[report.nodeid] = entries_from_json(carried)

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.extend(
            f'<th class="{css}">{escape(title)}</th>'
            for css, title in zip(CLASSES, HEADERS, strict=True)
        )

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        nodeid = str(getattr(report, "nodeid", ""))
        texts = cells_for(self.entries.get(nodeid, []))
        cells.extend(
            f'<td class="col-{css}">{text}</td>' for css, text in zip(CLASSES, texts, strict=True)
        )
        if getattr(report, "when", None) == "teardown":
            self.entries.pop(nodeid, None)  # the last report of the test: its rows are built
