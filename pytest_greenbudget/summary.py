"""Which rows a summary shows, and how a table fits a terminal without wrapping (SPEC 15).

A CI log is read at 80 to 120 columns and a real suite has thousands of entries: a row
that wraps, or six thousand rows of "ok", hides the one line that matters. So ids are
shortened from the left (the end of a node id is what tells tests apart), optional
columns go before anything is cut, and big runs show only what changed.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_greenbudget.entry import STATUSES, Entry

SummaryMode = Literal["all", "changes", "none"]
SUMMARY_MODES: tuple[SummaryMode, ...] = ("all", "changes", "none")
#: Without `summary` set, a run with more entries than this shows only the changes.
AUTO_ALL_LIMIT = 50
#: Statuses that are no news: "changes" leaves their rows out.
QUIET_STATUSES = ("ok", "new")
#: Columns dropped, in this order, before the ids are cut below SOFT_ID_WIDTH. The id,
#: the energy and the status always stay: the status is the news of a row.
OPTIONAL_COLUMNS = ("CO2e", "baseline", "budget")
SOFT_ID_WIDTH = 32
HARD_ID_WIDTH = 12
GAP = "  "


@dataclass(frozen=True)
class Selection:
    """The rows a summary shows and what it says about the rest."""

    shown: list[Entry]
    mode: SummaryMode
    #: False when the mode is the default chosen for the run's size.
    chosen: bool
    counts: dict[str, int]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


def select(entries: Sequence[Entry], mode: SummaryMode | None) -> Selection:
    """The entries a summary lists under `mode` (None: all up to AUTO_ALL_LIMIT, else changes)."""
    chosen = mode is not None
    if mode is None:
        mode = "all" if len(entries) <= AUTO_ALL_LIMIT else "changes"
    if mode == "all":
        shown = list(entries)
    elif mode == "changes":
        shown = [e for e in entries if e.status not in QUIET_STATUSES]
    else:
        shown = []
    counts = Counter(e.status for e in entries)
    ordered: dict[str, int] = {status: counts[status] for status in STATUSES if counts[status]}
    return Selection(shown, mode, chosen, ordered, len(entries))


def count_line(selection: Selection) -> str:
    """One line with the count of each status, and how to see the rows left out."""
    counts = ", ".join(f"{n} {status}" for status, n in selection.counts.items()) or "no entries"
    line = f"energy: {selection.total} entr{'y' if selection.total == 1 else 'ies'}: {counts}"
    if selection.hidden:
        line += f"; {selection.hidden} row{'s' if selection.hidden != 1 else ''} not shown"
        if not selection.chosen:
            line += (
                f" (more than {AUTO_ALL_LIMIT} entries: only changes are listed; "
                "--greenbudget-summary=all lists every row)"
            )
        else:
            line += f" (summary = {selection.mode!r}; --greenbudget-summary=all lists every row)"
    return line


def shorten_id(text: str, width: int, ellipsis: str = "…") -> str:
    """Cut `text` from the left to `width` characters, at a '/' when one is near."""
    if len(text) <= width:
        return text
    keep = max(width - len(ellipsis), 1)
    tail = text[-keep:]
    slash = tail.find("/")
    if 0 <= slash < keep // 2:  # cut at a folder boundary unless it costs half the room
        tail = tail[slash:]
    return ellipsis + tail


def clip(line: str, width: int, ellipsis: str = "…") -> str:
    """Cut a line on the right to `width` characters: the last resort, never a wrap."""
    if len(line) <= width:
        return line
    return line[: max(width - len(ellipsis), 0)] + ellipsis


def fit_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    optional: Sequence[str] = OPTIONAL_COLUMNS,
    ellipsis: str = "…",
) -> list[str]:
    """Aligned lines, each at most `width` characters (None: no limit).

    First the id column (the first) is shortened to SOFT_ID_WIDTH, then the optional
    columns are dropped in order, then the ids are shortened down to HARD_ID_WIDTH, and
    only then are the cells between the id and the last column (the status) clipped.
    """
    keep = list(range(len(columns)))
    table = [list(columns), *[list(row) for row in rows]]
    natural = [max(len(row[i]) for row in table) for i in range(len(columns))]

    def rest(indices: list[int]) -> int:
        return sum(natural[i] for i in indices[1:]) + len(GAP) * (len(indices) - 1)

    id_width = natural[0]
    if width is not None and id_width + rest(keep) > width:
        id_width = max(width - rest(keep), min(SOFT_ID_WIDTH, natural[0]))
        droppable = [columns.index(name) for name in optional if name in columns]
        while id_width + rest(keep) > width and droppable:
            keep.remove(droppable.pop(0))
            id_width = min(natural[0], max(width - rest(keep), min(SOFT_ID_WIDTH, natural[0])))
        if id_width + rest(keep) > width:
            id_width = max(width - rest(keep), min(HARD_ID_WIDTH, natural[0]))
    widths = [id_width if i == 0 else natural[i] for i in keep]
    last = len(keep) - 1
    lines = []
    for row in table:
        cells = [shorten_id(row[0], id_width, ellipsis), *(row[i] for i in keep[1:])]
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=True)]
        line = GAP.join(padded).rstrip()
        if width is not None and len(line) > width:
            if last >= 2:  # clip the middle, keep the id and the status whole
                room = width - len(padded[0]) - len(cells[last]) - 2 * len(GAP)
                middle = clip(GAP.join(padded[1:last]), max(room, len(ellipsis)), ellipsis)
                line = GAP.join([padded[0], middle.ljust(max(room, 0)), cells[last]])
            line = clip(line, width, ellipsis)
        lines.append(line)
    return lines


def fit_text(line: str, width: int | None, indent: str = "    ") -> list[str]:
    """Prose (a message, the meters) wrapped onto lines of at most `width` characters."""
    if width is None or len(line) <= width:
        return [line]
    wrapped = textwrap.wrap(
        line,
        width=width,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )
    return wrapped or [""]
