"""Shared fixture for the plugin's pytester tests: a deterministic fake meter.

``gb`` is a ``pytester`` whose directory holds ``fakemeter.py``; the test files it
writes call ``fakemeter.spend(12.4)`` to "use" exactly 12.4 J, so verdicts, messages
and medians are exact. The module is importable in process (``syspathinsert``), in
``runpytest_subprocess`` and in xdist workers (``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FAKEMETER = '''
"""Deterministic meters: the test body decides how many joules it "used"."""
import os

# meter name -> domain -> cumulative joules in this process
TOTALS = {"fake": {"cpu": 0.0}, "other": {"cpu": 0.0, "gpu": 0.0}}
BROKEN = []


def spend(joules, meter="fake", domain="cpu"):
    TOTALS[meter][domain] += joules


def spend_seq(path, values):
    """Spend the next value of ``values``; the position is kept in the file ``path``."""
    n = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(str(n + 1))
    spend(values[n])


def breaks():
    BROKEN.append(True)


def use(key):
    """Spend the joules that work.json (beside this module) gives for ``key``."""
    import json, pathlib
    work = json.loads((pathlib.Path(__file__).parent / "work.json").read_text())
    spend(work[key])


class FakeMeter:
    name = "fake"
    estimated = False
    per_process = True

    def read(self):
        if BROKEN:
            raise RuntimeError("sensor unplugged")
        return dict(TOTALS["fake"])


class OtherMeter:
    name = "other"
    estimated = True
    per_process = True

    def read(self):
        return dict(TOTALS["other"])


class MachineMeter:
    """No ``per_process``: counts the whole machine, so xdist measures exclusively."""

    name = "machine"
    estimated = False

    def read(self):
        return dict(TOTALS["fake"])


class ClosingMeter(FakeMeter):
    name = "closing"

    def close(self):
        with open(os.environ["GB_CLOSE_LOG"], "a") as f:
            f.write("closed\\n")


class BadCloseMeter(FakeMeter):
    name = "badclose"

    def close(self):
        raise RuntimeError("cannot close")


class RaisingMeter:
    def __init__(self):
        raise OSError("no such sensor")


class NotAMeter:
    pass
'''

METER = "--greenbudget-meter=fakemeter:FakeMeter"
#: hypothesis's pytest plugin re-imports (and assertion-rewrites) hypothesis in every
#: in-process run: seconds per run, and it has nothing to do with energy.
QUIET = ("-p", "no:hypothesispytest")


class GB:
    """Run pytest in the pytester dir with the fake meter selected."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path: Path = pytester.path

    def _args(self, args: tuple[str, ...]) -> list[str]:
        if any(str(a).startswith("--greenbudget-meter") for a in args):
            return [*QUIET, *args]
        return [*QUIET, METER, *args]

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest(*self._args(args))

    def run_sub(self, *args: str, timeout: float = 120) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(*self._args(args), timeout=timeout)

    def run_json(self, *args: str, sub: bool = False) -> tuple[pytest.RunResult, dict[str, Any]]:
        out = self.path / "gb-report.json"
        out.unlink(missing_ok=True)
        run = self.run_sub if sub else self.run
        result = run(f"--greenbudget-json={out}", *args)
        assert out.is_file(), result.stdout.str() + result.stderr.str()
        return result, json.loads(out.read_text(encoding="utf-8"))

    @staticmethod
    def entries(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in doc["entries"]}


@pytest.fixture(autouse=True)
def _inner_runs_keep_their_order(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projects that tests run with pytester keep the order they were written in.

    pytest-randomly, when installed, shuffles (and reseeds) every pytest run in this
    process and its children, including the small projects the tests write, whose
    expected entries, rows and baselines follow the order of their tests. This suite's
    own tests are still shuffled; tests about the neighbour plugins enable it again.
    (Set after pytester starts: it clears PYTEST_ADDOPTS.)
    """
    if "pytester" not in request.fixturenames:
        return
    request.getfixturevalue("pytester")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")


@pytest.fixture
def gb(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GB:
    pytester.makepyfile(fakemeter=FAKEMETER)
    pytester.syspathinsert()
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", str(pytester.path) + (os.pathsep + old if old else "")
    )
    monkeypatch.setenv("COLUMNS", "300")  # short test summary lines are not truncated
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "GREENBUDGET_POWERCAP_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return GB(pytester)


def no_crash(result: pytest.RunResult) -> None:
    """No INTERNALERROR and no Python traceback anywhere in the output."""
    text = result.stdout.str() + "\n" + result.stderr.str()
    assert "INTERNALERROR" not in text, text
    assert "Traceback (most recent call last)" not in text, text


@pytest.fixture
def assert_no_crash() -> Any:
    return no_crash
