"""Session start and end: build the session from the configuration; write what it found.

Kept apart from the hooks so that ``plugin.py`` stays a list of one-line delegations.
"""

from __future__ import annotations

import os
import re
import weakref
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

from pytest_greenbudget.baseline import (
    BaselineError,
    default_profile,
    load_baseline,
    machine_info,
    older_model_profile,
    save_baseline,
)
from pytest_greenbudget.measure import MeterSet
from pytest_greenbudget.meters.registry import MeterOptions, MeterSpecError, build_meters
from pytest_greenbudget.session import EnergySession
from pytest_greenbudget.settings import Settings, load_settings

if TYPE_CHECKING:
    from pytest_greenbudget.entry import Entry
    from pytest_greenbudget.fixture import EnergyMeter


def _meters(settings: Settings) -> MeterSet:
    try:
        return MeterSet(
            build_meters(
                settings.meter_specs,
                MeterOptions(
                    cpu_tdp_watts=settings.cpu_tdp_watts,
                    country=settings.country,
                    cpu_watts=settings.cpu_watts,
                    cpu_model=settings.cpu_model,
                ),
            )
        )
    except MeterSpecError as exc:
        raise pytest.UsageError(
            f"greenbudget: {exc} (meter from {settings.meter_source})"
        ) from None


def start_session(config: pytest.Config) -> EnergySession:
    """Settings, meters, baseline and lock: every usage error surfaces here, before any test."""
    settings = load_settings(config)
    try:
        baseline = load_baseline(settings.baseline_path)
    except BaselineError as exc:
        raise pytest.UsageError(f"greenbudget: {exc}") from None
    meters = _meters(settings)
    profile = settings.profile or default_profile(meters.meters)
    from pytest_greenbudget import instrumentation

    instrumented = instrumentation.active(config)
    if instrumented is not None:
        profile += instrumentation.SUFFIX  # coverage's energy is not a plain run's
    workerinput = getattr(config, "workerinput", None)
    is_controller = workerinput is None and _uses_xdist(config)
    workers = _concurrent_workers(config, workerinput) if meters.per_process else 1
    if workers > 1 and settings.profile is None:  # a profile the user names is theirs
        # Tests measured side by side share the CPUs: their CPU time is not a serial run's
        # (threads oversubscribed, caches shared), so such runs compare among themselves.
        profile += f"-xdist{workers}"
    lock = lock_dir = None
    if not meters.per_process:
        from pytest_greenbudget.xdist import WORKERINPUT_KEY, SessionLock, make_session_dir

        if workerinput is not None:
            given = workerinput.get(WORKERINPUT_KEY)
            lock = SessionLock(Path(given)) if given else None
        elif is_controller:
            lock_dir = make_session_dir()
            lock = SessionLock(lock_dir)

    session = EnergySession(
        settings,
        meters,
        profile,
        baseline,
        is_worker=workerinput is not None,
        is_controller=is_controller,
        lock=lock,
        lock_dir=lock_dir,
    )
    if not session.baseline_count:
        older = older_model_profile(baseline.profiles, profile)
        if older is not None:
            _HEADER_NOTES[session] = (
                f"greenbudget: the baseline's profile {older!r} was measured under an older "
                f"estimate model; its numbers are not compared with profile {profile!r} "
                "(save a new baseline with --greenbudget-save)"
            )
    session.instrumentation = instrumented
    return session


#: One-line notes for the header, per session (kept out of EnergySession's fields).
_HEADER_NOTES: weakref.WeakKeyDictionary[EnergySession, str] = weakref.WeakKeyDictionary()


def _concurrent_workers(config: pytest.Config, workerinput: object) -> int:
    """How many xdist workers measure at once (1 outside xdist)."""
    if isinstance(workerinput, dict):
        count = workerinput.get("workercount")
        return count if isinstance(count, int) else 1
    if not _uses_xdist(config):
        return 1
    numprocesses = getattr(config.option, "numprocesses", None)
    if isinstance(numprocesses, int) and not isinstance(numprocesses, bool):
        return numprocesses
    return len(getattr(config.option, "tx", None) or ()) or 1


def _uses_xdist(config: pytest.Config) -> bool:
    if not config.pluginmanager.hasplugin("xdist"):
        return False
    numprocesses = getattr(config.option, "numprocesses", None)
    return bool(numprocesses) or bool(getattr(config.option, "tx", None))


def header_lines(session: EnergySession) -> list[str]:
    settings = session.settings
    meters = ", ".join(
        f"{m.name} ({'estimated' if m.estimated else 'measured'})" for m in session.meters.meters
    )
    count = session.baseline_count
    baseline = _relative(settings.baseline_path, settings.rootdir)
    lines = [
        f"greenbudget: meters {meters}; profile {session.profile}; "
        f"baseline {baseline} ({count} entries in this profile); config {settings.source}"
    ]
    if session.instrumentation:
        lines.append(
            f"greenbudget: instrumentation active ({session.instrumentation}): energy is "
            f"compared with and saved into the profile {session.profile} only"
        )
    for meter in session.meters.meters:
        note = getattr(meter, "note", None)
        if isinstance(note, str) and note:
            lines.append(f"greenbudget: {note}")
    if session in _HEADER_NOTES:
        lines.append(_HEADER_NOTES[session])
    return lines


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


_METER_NAME = re.compile(r"^(?:unmeasured: )?meter '([^']+)'")


def meter_failures(entries: list[Entry]) -> list[str]:
    """One sentence per meter that broke: what broke and how many entries it cost."""
    costs: Counter[str] = Counter()
    first: dict[str, str] = {}
    for entry in entries:
        if entry.status != "unmeasured":
            continue
        message = entry.message or ""
        match = _METER_NAME.match(message)
        meter = match.group(1) if match else "meter"
        costs[meter] += 1
        first.setdefault(meter, message.removeprefix("unmeasured: "))
    return [
        f"greenbudget: {first[meter]} -- {count} entr{'y' if count == 1 else 'ies'} left unmeasured"
        for meter, count in costs.items()
    ]


def summary_lines(session: EnergySession, writer: object = None) -> list[str]:
    """The energy summary, fitted to the terminal writer's width (SPEC 15)."""
    from pytest_greenbudget.report import terminal_lines
    from pytest_greenbudget.summary import fit_text

    width = getattr(writer, "fullwidth", None)
    width = width - 1 if isinstance(width, int) and width > 20 else None
    ellipsis = "…"
    encoding = getattr(getattr(writer, "_file", None), "encoding", None) or "utf-8"
    try:
        ellipsis.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        ellipsis = "..."
    lines = []
    if session.entries:
        lines = terminal_lines(
            session.entries,
            session.run_info(),
            width=width,
            summary=session.settings.summary,
            ellipsis=ellipsis,
        )
    return [*lines, *(part for note in session.notes for part in fit_text(note, width))]


def github_lines(session: EnergySession) -> list[str]:
    """GitHub workflow commands that pin findings to the test's line in a pull request."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return []
    from pytest_greenbudget.github import annotation, repository_path

    rootdir, workspace = str(session.settings.rootdir), os.environ.get("GITHUB_WORKSPACE")
    lines = []
    for entry in session.entries:
        if not entry.is_finding and entry.status != "inconclusive":
            continue
        path, line = entry.location
        path = repository_path(rootdir, path, workspace)
        level: Literal["error", "warning", "notice"] = (
            "notice"
            if entry.status == "inconclusive"  # a change the noise cannot decide: never a failure
            else "error"
            if entry.failed_for_energy
            else "warning"
        )
        lines.append(
            annotation(
                level,
                path,
                None if line is None else line + 1,
                f"energy: {entry.id}",
                entry.message or "",
            )
        )
    return lines


def finish_session(session: EnergySession, *, interrupted: bool) -> list[str]:
    """Write reports and the baseline (controller only), close the meters; return warnings."""
    if session.is_worker:
        return session.meters.close()
    settings = session.settings
    messages = [*settings.notices, *session.meters.notices, *meter_failures(session.entries)]
    if settings.save:
        messages += _save(session, interrupted=interrupted)
    messages += _write_reports(session)
    # Nothing reads a meter after the last test. Closed here, not at unconfigure, so that a
    # close() that blocks is bounded and reported while warnings are still shown.
    messages += session.meters.close()
    if session.lock_dir is not None:
        from pytest_greenbudget.xdist import remove_session_dir

        remove_session_dir(session.lock_dir)
    return messages


def _write_reports(session: EnergySession) -> list[str]:
    """Write the reports asked for; a report that cannot be written is a warning, not a crash."""
    settings = session.settings
    entries = session.entries
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    # An asked-for Markdown file is written even when nothing was measured (a CI step
    # uploads it); the job summary gains a section only when there is something to show.
    summary = summary if entries else None
    markdown = settings.markdown_path is not None or bool(summary)
    history = settings.history_path if entries else None
    html = settings.html_path
    if settings.json_path is None and not markdown and history is None and html is None:
        return []
    from pytest_greenbudget import report as reports

    info = session.run_info()
    if settings.json_path is not None or history is not None or html is not None:
        from dataclasses import replace

        from pytest_greenbudget.history import run_meta

        info = replace(info, run=run_meta(session.started, session.profile, settings.rootdir))
    targets: list[tuple[Path, str, bool]] = []
    json_text = reports.json_text(entries, info)
    if settings.json_path is not None:
        targets.append((settings.json_path, json_text, False))
    if markdown:
        text = reports.markdown(entries, info, summary=settings.summary)
        if settings.markdown_path is not None:
            targets.append((settings.markdown_path, text, False))
        if summary:
            targets.append((Path(summary), text, True))
    problems = []
    for path, text, append in targets:
        try:
            reports.write_text(path, text, append=append)
        except OSError as exc:
            problems.append(f"greenbudget: cannot write report {path}: {exc.strerror or exc}")
    kept: Path | None = None
    if history is not None:
        from pytest_greenbudget.history import write_history

        try:
            kept = write_history(history, session.started, session.profile, json_text)
        except OSError as exc:
            problems.append(f"greenbudget: cannot write history {history}: {exc.strerror or exc}")
        else:
            session.notes.append(
                f"history: this run kept as {_relative(kept, settings.rootdir)}"
            )
    if html is not None:
        from pytest_greenbudget.html_report import write_for_session

        problem = write_for_session(html, json_text, settings.history_path, kept)
        if problem:
            problems.append(problem)
        else:
            session.notes.append(f"HTML report: {html}")
    return problems


def _save(session: EnergySession, *, interrupted: bool) -> list[str]:
    settings = session.settings
    if interrupted:
        return [f"greenbudget: session interrupted; baseline {settings.baseline_path} not updated"]
    from pytest_greenbudget.work import baseline_fields

    results = {
        e.id: {
            "joules": e.joules,
            "seconds": e.seconds,
            **baseline_fields(e.work, e.joules_per_unit),
            **({"samples": e.samples} if e.samples else {}),
            **({"imported": e.imported} if e.imported else {}),
        }
        for e in session.entries
        if e.outcome == "passed" and e.joules is not None
    }
    if not results:
        return []  # nothing measured: leave the file byte for byte, not even a new machine
    try:
        save_baseline(
            settings.baseline_path, session.profile, machine_info(session.meters.meters), results
        )
    except BaselineError as exc:
        return [f"greenbudget: baseline not saved: {exc}"]
    where = _relative(settings.baseline_path, settings.rootdir)
    count = len(results)
    session.notes.append(
        f"baseline: saved {count} entr{'y' if count == 1 else 'ies'} to {where} "
        f"(profile {session.profile})"
    )
    return []


def fixture_only_meter(nodeid: str = "") -> EnergyMeter:
    """Under --greenbudget-off the fixture still returns numbers, from the estimate meter."""
    from pytest_greenbudget.carbon import WORLD_INTENSITY
    from pytest_greenbudget.fixture import EnergyMeter
    from pytest_greenbudget.meters.estimate import EstimateMeter

    meters = MeterSet([EstimateMeter()])
    return EnergyMeter(meters, WORLD_INTENSITY, lambda: None, None, nodeid=nodeid)
