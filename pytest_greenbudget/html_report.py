"""One self-contained HTML file from JSON reports: budgets as bars, energy over runs as charts.

``python -m pytest_greenbudget report PATH... --html OUT`` and ``--greenbudget-html``
(SPEC 15). The page opens with no network: the charts are SVG drawn here by pygal (an
optional extra, imported only when a page is drawn), the bars are CSS, and there is no
script. Files that are not greenbudget reports are skipped with a message, so a folder
of downloaded CI artifacts can be given as it is.
"""

from __future__ import annotations

import argparse
import heapq
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, TextIO

from pytest_greenbudget.entry import Entry, EntryError
from pytest_greenbudget.history import RunMeta, parse_time
from pytest_greenbudget.quantity import format_joules
from pytest_greenbudget.report import JSON_SCHEMA, MeterInfo, budget_use, rows

INSTALL_HINT = "pip install 'pytest-greenbudget[html]'"
#: Charts drawn at most (each is ~16 KB of SVG); the changed and the largest entries first.
MAX_CHARTS = 60
#: Runs read at most; the newest are kept.
MAX_RUNS = 100
SERIES_COLOURS = ("#1f6fb4", "#e07b00", "#5b3ea6", "#2a9d8f", "#8c564b", "#d6336c")
BUDGET_COLOUR = "#c0392b"
STATUS_COLOURS = {
    "over_budget": "#c0392b",
    "regressed": "#d35400",
    "inconclusive": "#8e8e00",
    "improved": "#1e8449",
    "ok": "#2e7d32",
    "new": "#1565c0",
    "unmeasured": "#757575",
}


class ReportFileError(ValueError):
    """A file that is not a readable greenbudget JSON report."""


class PlottingMissing(RuntimeError):
    """pygal is not installed."""


@dataclass(frozen=True)
class Run:
    """One JSON report as the page uses it."""

    source: str
    meta: RunMeta | None
    profile: str
    meters: tuple[MeterInfo, ...]
    intensity: float | None
    entries: tuple[Entry, ...]
    #: Order of reading, to keep reports without a time in the order given.
    order: int = 0

    @property
    def started(self) -> datetime | None:
        return parse_time(self.meta.started) if self.meta is not None else None

    def sort_key(self) -> tuple[float, int]:
        started = self.started
        return (started.timestamp() if started else float("-inf"), self.order)

    @property
    def label(self) -> str:
        started = self.started
        text = started.strftime("%m-%d %H:%M") if started else Path(self.source).stem[:16]
        if self.meta is not None and self.meta.commit:
            text += f" {self.meta.commit[:7]}"
        return text


def parse_report(data: object, source: str, order: int = 0) -> Run:
    """A decoded JSON report as a Run; ReportFileError says what is wrong with it."""
    if not isinstance(data, Mapping):
        raise ReportFileError(f"not a greenbudget report (a JSON {type(data).__name__})")
    if data.get("schema") != JSON_SCHEMA:
        raise ReportFileError(
            f"not a greenbudget report (schema {data.get('schema')!r}, not {JSON_SCHEMA!r})"
        )
    items = data.get("entries")
    if not isinstance(items, list):
        raise ReportFileError("entries must be a list")
    try:
        entries = tuple(Entry.from_json(item) for item in items)
        meta = RunMeta.from_json(data["run"]) if data.get("run") is not None else None
        meters = tuple(_meter(m) for m in data.get("meters") or ())
    except (EntryError, ValueError, TypeError, KeyError) as exc:
        raise ReportFileError(str(exc)) from None
    intensity = data.get("carbon_intensity_g_per_kwh")
    return Run(
        source=source,
        meta=meta,
        profile=str(data.get("profile") or (meta.profile if meta else "") or "?"),
        meters=meters,
        intensity=float(intensity) if isinstance(intensity, int | float) else None,
        entries=entries,
        order=order,
    )


def _meter(data: object) -> MeterInfo:
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ValueError(f"a meter must be an object with a name, got {data!r}")
    domains = data.get("domains") or []
    return MeterInfo(
        data["name"],
        bool(data.get("estimated")),
        [str(d) for d in domains] if isinstance(domains, list) else [],
        str(data.get("details") or ""),
    )


def read_report(path: Path, order: int = 0) -> Run:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportFileError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReportFileError("not a text file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"not valid JSON: {exc}") from None
    return parse_report(data, str(path), order)


def report_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The JSON files named or inside the folders named (recursively), in order."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                problems.append(f"{path}: no JSON files in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def load_runs(paths: Iterable[Path], max_runs: int = MAX_RUNS) -> tuple[list[Run], list[str]]:
    """The newest `max_runs` readable reports, oldest first, and one message per skipped file."""
    files, problems = report_files(paths)
    kept: list[tuple[tuple[float, int], int, Run]] = []  # a min-heap: the oldest is dropped
    for order, path in enumerate(files):
        try:
            run = read_report(path, order)
        except ReportFileError as exc:
            problems.append(f"skipped {path}: {exc}")
            continue
        heapq.heappush(kept, (run.sort_key(), order, run))
        if len(kept) > max_runs:
            heapq.heappop(kept)
    return [run for _, _, run in sorted(kept, key=lambda item: item[:2])], problems


# -- drawing --------------------------------------------------------------------------------


def _pygal() -> Any:
    """pygal, imported without leaving the process's import machinery changed.

    pygal imports the importlib_metadata backport, which on import puts its own finder on
    ``sys.meta_path`` and deletes ``find_distributions`` from the standard library's
    ``PathFinder`` (and pygal adds a finder of its own). Drawing needs none of that, and
    left so, the rest of the process finds distributions only through the backport: a
    second in-process pytest run (pytester, IDEs) found no plugin at all. Both are put
    back as they were.
    """
    from importlib.machinery import PathFinder

    finders = list(sys.meta_path)
    find_distributions = PathFinder.__dict__.get("find_distributions")
    try:
        import pygal
    except ImportError:
        raise PlottingMissing(
            f"the HTML report draws its charts with pygal, which is not installed: {INSTALL_HINT}"
        ) from None
    finally:
        sys.meta_path[:] = finders
        if find_distributions is not None and "find_distributions" not in PathFinder.__dict__:
            PathFinder.find_distributions = find_distributions  # type: ignore[method-assign]
    return pygal


def _style(pygal: Any, colours: Sequence[str]) -> Any:
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        foreground="#444",
        foreground_strong="#222",
        foreground_subtle="#ddd",
        opacity=".9",
        opacity_hover="1",
        colors=tuple(colours),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=11,
        major_label_font_size=11,
        legend_font_size=11,
        title_font_size=13,
        guide_stroke_color="#e6e6e6",
        guide_stroke_dasharray="0",
        major_guide_stroke_color="#d0d0d0",
        major_guide_stroke_dasharray="0",
    )


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart: Any) -> str:
    """The chart's SVG without pygal's script: it only configures tooltips whose code
    would come from the network, which a page that opens offline does not load."""
    text = str(chart.render(is_unicode=True))
    return _SCRIPT.sub("", text[text.index("<svg") :])


def _line_chart(
    pygal: Any,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    budget: float | None,
    *,
    width: int,
    height: int,
    formatter: Any = format_joules,
) -> str:
    colours = list(SERIES_COLOURS[: len(series)])
    top = max((v for _, values in series for v in values if v is not None), default=0.0)
    if budget is not None and budget > 3 * top:
        budget = None  # far above the data it would flatten the line; the heading says it
    if budget is not None:
        colours.append(BUDGET_COLOUR)
    chart = pygal.Line(
        width=width,
        height=height,
        js=[],
        style=_style(pygal, colours),
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        x_label_rotation=20 if len(labels) > 1 else 0,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(labels) // 6),
        truncate_label=-1,
        allow_interruptions=True,
        include_x_axis=True,
        value_formatter=formatter,
        dots_size=3,
        stroke_style={"width": 2},
        margin=6,
        margin_right=30,
        spacing=8,
        disable_xml_declaration=True,
    )
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    if budget is not None:
        chart.add(
            "budget",
            [budget] * len(labels),
            show_dots=False,
            stroke_style={"width": 1.5, "dasharray": "6, 4"},
        )
    return _svg(chart)


def _entry_series(
    runs: Sequence[Run], index: Sequence[Mapping[str, Entry]], entry_id: str
) -> list[tuple[str, list[float | None]]]:
    """Joules of one entry in every run, one series per profile (numbers of different
    machines are not comparable, so they are not joined into one line)."""
    series = []
    for profile in dict.fromkeys(run.profile for run in runs):
        values: list[float | None] = []
        for run, entries in zip(runs, index, strict=True):
            found = entries.get(entry_id) if run.profile == profile else None
            values.append(found.joules if found is not None else None)
        if any(v is not None for v in values):
            series.append((profile, values))
    return series


def _charted(latest: Run, max_charts: int) -> list[Entry]:
    """The entries that get a chart: the changed first, then the largest by energy."""
    measured = [e for e in latest.entries if e.joules is not None]
    measured.sort(key=lambda e: (e.status in ("ok", "new"), -(e.joules or 0.0)))
    return measured[:max_charts]


def _bar(entry: Entry) -> str:
    found = budget_use(entry)
    if found is None or entry.budget is None:
        return '<span class="muted">no budget</span>'
    limit, used = found
    budget = entry.budget
    if used is None or budget.value <= 0:
        return escape(limit)
    share = used / budget.value * 100
    over = share > 100
    width = min(share, 100.0)
    return (
        f'<div class="bar{" over" if over else ""}" title="{share:.1f} % of {escape(limit)}">'
        f'<span style="width:{width:.1f}%"></span></div>'
        f'<span class="share">{share:.0f} % of {escape(limit)}</span>'
    )


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#555")
    return f'<span class="badge" style="background:{colour}">{escape(status)}</span>'


def _provenance(latest: Run) -> list[str]:
    notes = []
    for meter in latest.meters:
        kind = "estimated" if meter.estimated else "measured"
        domains = f" ({', '.join(meter.domains)})" if meter.domains else ""
        details = f": {meter.details}" if meter.details else ""
        notes.append(f"meter <b>{escape(meter.name)}</b>{escape(domains)}, {kind}"
                     f"{escape(details)}")
    if any(m.estimated for m in latest.meters):
        notes.append(
            "The numbers are <b>estimated</b> (CPU time x a power figure), not read from "
            "hardware counters: compare them within one profile, not across machines."
        )
    elif latest.meters:
        notes.append("The numbers are <b>measured</b> by hardware energy counters.")
    notes.append(f"profile <b>{escape(latest.profile)}</b>")
    if latest.intensity is not None:
        notes.append(f"CO2e at {latest.intensity:g} gCO2e/kWh")
    return notes


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#222;
background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta,.muted{color:#666}.notes li{margin:2px 0}
table{border-collapse:collapse;background:white;font-size:13px;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:5px 8px;text-align:left;vertical-align:middle}
th{background:#f0f0f0;position:sticky;top:0}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all;max-width:420px}
td.num{text-align:right;white-space:nowrap}
.badge{color:white;border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap}
.bar{display:inline-block;vertical-align:middle;width:120px;height:12px;background:#e8eef5;
border-radius:3px;overflow:hidden;margin-right:6px}
.bar span{display:block;height:100%;background:#4c8bc9}.bar.over span{background:#c0392b}
.share{font-size:12px;white-space:nowrap}
.counts .badge{margin-right:6px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.chart{background:white;border:1px solid #e4e4e4;border-radius:6px;padding:8px}
.chart h3{font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace;margin:0 0 4px;
word-break:break-all;font-weight:normal}
.chart svg{width:100%;height:auto}
.total svg{max-width:900px;width:100%;height:auto}
.message{color:#8a3b12;font-size:12px}
.note{white-space:nowrap;color:#666;font-family:system-ui,sans-serif}
"""


def render(runs: Sequence[Run], *, max_charts: int = MAX_CHARTS) -> str:
    """The page for `runs` (oldest first; the last is the latest). Needs pygal."""
    if not runs:
        raise ValueError("no runs to draw")
    pygal = _pygal()
    latest = runs[-1]
    labels = [run.label for run in runs]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Energy report (pytest-greenbudget)</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Energy report</h1>",
        f'<p class="meta">{escape(_run_line(latest))} &middot; {len(runs)} '
        f"run{'s' if len(runs) != 1 else ''} read</p>",
        '<ul class="notes">' + "".join(f"<li>{n}</li>" for n in _provenance(latest)) + "</ul>",
    ]
    counts: dict[str, int] = {}
    for entry in latest.entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    parts.append(
        '<p class="counts">'
        + "".join(f"{_badge(s)}{n} " for s, n in sorted(counts.items(), key=_status_order))
        + "</p>"
    )
    tests = [e for e in latest.entries if e.kind == "test"]
    if len(runs) > 1:
        totals = [
            [sum(e.joules or 0.0 for e in run.entries if e.kind == "test")]
            for run in runs
        ]
        series = [(p, [t[0] if r.profile == p else None for t, r in zip(totals, runs,
                                                                        strict=True)])
                  for p in dict.fromkeys(r.profile for r in runs)]
        parts += [
            "<h2>Total energy of the tests, per run</h2>",
            '<div class="total">'
            + _line_chart(pygal, labels, series, None, width=900, height=260)
            + "</div>",
        ]
    charted = _charted(latest, max_charts)
    anchors = {entry.id: f"chart-{i}" for i, entry in enumerate(charted)}
    parts += [
        f"<h2>Latest run: {len(latest.entries)} entries ({len(tests)} tests)</h2>",
        "<table><thead><tr><th>test</th><th>status</th><th>energy</th><th>budget</th>"
        "<th>baseline (change)</th><th>CO2e</th><th></th></tr></thead><tbody>",
    ]
    for entry, row in zip(latest.entries, rows(latest.entries), strict=True):
        link = (
            f'<a href="#{anchors[entry.id]}">chart</a>' if entry.id in anchors else ""
        )
        message = (
            f'<div class="message">{escape(entry.message)}</div>'
            if entry.message and entry.status != "ok"
            else ""
        )
        parts.append(
            f'<tr><td class="id">{escape(entry.id)}{message}</td><td>{_badge(entry.status)}</td>'
            f'<td class="num">{escape(row[1])}</td><td>{_bar(entry)}</td>'
            f'<td class="num">{escape(row[3])}</td><td class="num">{escape(row[4])}</td>'
            f"<td>{link}</td></tr>"
        )
    parts.append("</tbody></table>")
    measured = sum(1 for e in latest.entries if e.joules is not None)
    left = measured - len(charted)
    parts.append(
        f"<h2>Energy across runs</h2><p class=\"muted\">{len(charted)} of {measured} measured "
        "entries, the changed and the largest first"
        + (f"; {left} more are in the table only" if left > 0 else "")
        + ". A dashed red line is the entry's energy budget, where it is near the data.</p>"
    )
    parts.append('<div class="charts">')
    index = [{e.id: e for e in run.entries} for run in runs]
    row_of = {e.id: row[2] for e, row in zip(charted, rows(charted), strict=True)}
    for entry in charted:
        b = entry.budget  # the lines plot total joules: only a total energy budget is drawn
        budget = b.value if b is not None and b.kind == "energy" and b.per is None else None
        chart = _line_chart(
            pygal, labels, _entry_series(runs, index, entry.id), budget, width=440, height=230
        )
        note = (
            f' <span class="note">budget {escape(row_of[entry.id])}</span>' if entry.budget else ""
        )
        parts.append(
            f'<div class="chart" id="{anchors[entry.id]}"><h3>{escape(entry.id)} '
            f"{_badge(entry.status)}{note}</h3>{chart}</div>"
        )
    parts += ["</div>", _sources(runs), "</body></html>"]
    return "\n".join(parts) + "\n"


def _status_order(item: tuple[str, int]) -> int:
    order = list(STATUS_COLOURS)
    return order.index(item[0]) if item[0] in order else len(order)


def _run_line(run: Run) -> str:
    if run.meta is None:
        return f"latest run: {run.source} (the report does not say when it ran)"
    started = run.started
    when = started.strftime("%Y-%m-%d %H:%M:%S UTC") if started else run.meta.started
    text = f"latest run: {when}"
    if run.meta.commit:
        text += f", commit {run.meta.commit[:10]}"
    if run.meta.branch:
        text += f" on {run.meta.branch}"
    if run.meta.dirty:
        text += " (uncommitted changes)"
    return text


def _sources(runs: Sequence[Run]) -> str:
    items = "".join(
        f"<li>{escape(run.label)}: {escape(run.source)} ({escape(run.profile)})</li>"
        for run in runs
    )
    return f'<details><summary class="muted">reports read</summary><ul>{items}</ul></details>'


def write_html(path: Path, runs: Sequence[Run], *, max_charts: int = MAX_CHARTS) -> None:
    from pytest_greenbudget.report import write_text

    write_text(path, render(runs, max_charts=max_charts))


def write_for_session(
    path: Path, json_text: str, history: Path | None, kept: Path | None
) -> str | None:
    """The page for this run (and the history folder's runs); a problem as a sentence."""
    runs: list[Run] = []
    if history is not None and history.is_dir():
        runs, _ = load_runs([history], MAX_RUNS)
        runs = [r for r in runs if kept is None or Path(r.source) != kept]
    try:
        current = parse_report(json.loads(json_text), "this run", len(runs) + 1)
        runs.append(current)
        runs.sort(key=Run.sort_key)
        write_html(path, runs[-MAX_RUNS:])
    except PlottingMissing as exc:
        return f"greenbudget: HTML report {path} not written: {exc}"
    except (OSError, ReportFileError) as exc:
        return f"greenbudget: cannot write HTML report {path}: {exc}"
    return None


def main(argv: Sequence[str] | None = None, err: TextIO | None = None) -> int:
    """``python -m pytest_greenbudget report PATH... --html OUT``."""
    stream = err if err is not None else sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m pytest_greenbudget report",
        description="Draw one self-contained HTML page from greenbudget JSON reports "
        "(files, or folders of them such as a history folder or downloaded CI artifacts).",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--html", required=True, type=Path, metavar="OUT")
    parser.add_argument(
        "--max-runs", type=int, default=MAX_RUNS, help=f"newest runs read (default {MAX_RUNS})"
    )
    parser.add_argument(
        "--max-charts",
        type=int,
        default=MAX_CHARTS,
        help=f"entries charted (default {MAX_CHARTS})",
    )
    args = parser.parse_args(argv)
    if args.max_runs < 1 or args.max_charts < 0:
        parser.error("--max-runs must be >= 1 and --max-charts >= 0")
    runs, problems = load_runs(args.paths, args.max_runs)
    for problem in problems:
        stream.write(f"greenbudget: {problem}\n")
    if not runs:
        stream.write("greenbudget: no greenbudget JSON reports found; nothing written\n")
        return 1
    try:
        write_html(args.html, runs, max_charts=args.max_charts)
    except PlottingMissing as exc:
        stream.write(f"greenbudget: {exc}\n")
        return 1
    except OSError as exc:
        stream.write(f"greenbudget: cannot write {args.html}: {exc.strerror or exc}\n")
        return 1
    stream.write(f"greenbudget: wrote {args.html} ({len(runs)} runs)\n")
    return 0
