"""SPEC 15: the run object (time, git state) and the history folder's file names."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_greenbudget.history import (
    GitState,
    RunMeta,
    git_state,
    history_name,
    iso,
    parse_time,
    run_meta,
    write_history,
)

MOMENT = datetime(2026, 12, 4, 18, 45, 12, 483_900, tzinfo=timezone.utc)


def test_iso_is_utc_with_milliseconds_and_parses_back() -> None:
    assert iso(MOMENT) == "2026-12-04T18:45:12.483Z"
    parsed = parse_time(iso(MOMENT))
    assert parsed is not None and parsed.tzinfo is not None
    assert abs((parsed - MOMENT).total_seconds()) < 0.001
    assert parse_time("2026-12-04T18:45:12+02:00") == datetime(
        2026, 12, 4, 16, 45, 12, tzinfo=timezone.utc
    )
    assert parse_time("yesterday") is None


def test_history_names_start_with_the_utc_time_and_sort_by_it() -> None:
    name = history_name(MOMENT, "estimate-amd-epyc-2cpu")
    assert name == "20261204T184512.483Z-estimate-amd-epyc-2cpu.json"
    later = datetime(2026, 12, 4, 18, 45, 13, tzinfo=timezone.utc)
    names = [history_name(later, "a"), history_name(MOMENT, "zzz")]
    assert sorted(names) == names[::-1]
    assert "/" not in history_name(MOMENT, "../../etc x")


def test_two_runs_in_the_same_millisecond_get_two_files_in_order(tmp_path: Path) -> None:
    first = write_history(tmp_path / "h", MOMENT, "p", "one")
    second = write_history(tmp_path / "h", MOMENT, "p", "two")
    assert first != second
    assert sorted([second.name, first.name]) == [first.name, second.name]
    assert first.read_text() == "one" and second.read_text() == "two"


def test_run_meta_round_trips_and_rejects_bad_fields() -> None:
    meta = RunMeta("2026-12-04T18:45:12.483Z", "a" * 40, "main", False, "p")
    assert RunMeta.from_json(meta.to_json()) == meta
    assert set(meta.to_json()) == {"started", "commit", "branch", "dirty", "profile"}
    with pytest.raises(ValueError, match="started"):
        RunMeta.from_json({**meta.to_json(), "started": "soon"})
    with pytest.raises(ValueError, match="dirty"):
        RunMeta.from_json({**meta.to_json(), "dirty": "yes"})


def test_outside_a_repository_git_says_nothing(tmp_path: Path) -> None:
    assert git_state(tmp_path) == GitState(None, None, None)


def test_without_git_installed_there_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    meta = run_meta(MOMENT, "p", tmp_path)
    assert (meta.commit, meta.branch, meta.dirty) == (None, None, None)
    assert meta.started == "2026-12-04T18:45:12.483Z" and meta.profile == "p"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_reads_commit_branch_and_dirty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
            cwd=tmp_path, check=True, capture_output=True, text=True,
        ).stdout.strip()

    git("init", "-q", "-b", "trunk")
    (tmp_path / "f.txt").write_text("1")
    git("add", "f.txt")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD")
    (tmp_path / "untracked.json").write_text("{}")  # e.g. a history file: not dirty
    assert git_state(tmp_path) == GitState(head, "trunk", False)
    (tmp_path / "f.txt").write_text("2")
    assert git_state(tmp_path) == GitState(head, "trunk", True)
    git("checkout", "-q", "--detach")
    monkeypatch.setenv("GITHUB_REF_NAME", "feature-x")
    assert git_state(tmp_path).branch == "feature-x"  # a detached CI checkout
