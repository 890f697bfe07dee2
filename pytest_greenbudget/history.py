"""Which run a report is (time, git commit), and the history folder that keeps every run.

A chart of a test's energy over time needs each report to say when and at which commit
it was made, and a folder of reports whose names sort by time (SPEC 15). git is asked
with a short timeout: a project without git, or outside a repository, is no error.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class RunMeta:
    """The JSON report's ``run`` object."""

    started: str
    commit: str | None
    branch: str | None
    dirty: bool | None
    profile: str

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "profile": self.profile,
        }

    @classmethod
    def from_json(cls, data: object) -> RunMeta:
        """Read a report's ``run``; raises ValueError naming the field that is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"run must be an object, got {type(data).__name__}")
        started = data.get("started")
        if not isinstance(started, str) or parse_time(started) is None:
            raise ValueError(f"run.started must be an ISO 8601 time, got {started!r}")
        for key in ("commit", "branch"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                raise ValueError(f"run.{key} must be a string or null, got {data.get(key)!r}")
        dirty = data.get("dirty")
        if dirty is not None and not isinstance(dirty, bool):
            raise ValueError(f"run.dirty must be true, false or null, got {dirty!r}")
        profile = data.get("profile")
        if not isinstance(profile, str):
            raise ValueError(f"run.profile must be a string, got {profile!r}")
        return cls(started, data.get("commit"), data.get("branch"), dirty, profile)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-12-04T18:45:12.483Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; a naive one is taken as UTC), or None."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class GitState:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


def git_state(cwd: Path, timeout: float = GIT_TIMEOUT_S) -> GitState:
    """Commit, branch and dirtiness of the work tree at `cwd`, from one ``git status``.

    Untracked files do not count as dirty (a history folder inside the repository would
    make every run after the first one dirty). A detached HEAD (as in a CI checkout) takes
    its branch from GitHub's variables when they are set.
    """
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return GitState()
    if done.returncode != 0:
        return GitState()
    commit = branch = None
    dirty = False
    for line in done.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.removeprefix("# branch.oid ").strip()
            commit = oid if re.fullmatch(r"[0-9a-f]{7,64}", oid) else None
        elif line.startswith("# branch.head "):
            head = line.removeprefix("# branch.head ").strip()
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    if branch is None:
        branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME") or None
    return GitState(commit, branch, dirty)


def run_meta(started: datetime, profile: str, cwd: Path) -> RunMeta:
    git = git_state(cwd)
    return RunMeta(iso(started), git.commit, git.branch, git.dirty, profile)


def _stamp(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y%m%dT%H%M%S") + f".{utc.microsecond // 1000:03d}Z"


def history_name(started: datetime, profile: str) -> str:
    """``20261204T184512.483Z-<profile>.json``: names sort by start time."""
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", profile).strip("._") or "run"
    return f"{_stamp(started)}-{safe[:80]}.json"


def write_history(folder: Path, started: datetime, profile: str, text: str) -> Path:
    """Write `text` as a new file of `folder`; never overwrites an earlier run's file.

    Two runs started in the same millisecond get names a millisecond apart, so the
    names stay unique and still sort by time.
    """
    folder.mkdir(parents=True, exist_ok=True)
    moment = started
    for _ in range(1000):
        path = folder / history_name(moment, profile)
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            moment += timedelta(milliseconds=1)
            continue
        return path
    raise OSError(f"no free file name in {folder}")
