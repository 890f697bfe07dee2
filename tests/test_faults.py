"""Fault injection through real pytest runs (SPEC sections 5, 7, 8).

Every case runs pytest in a subprocess (``runpytest_subprocess``), so a hung meter
thread, a ``KeyboardInterrupt`` or a monkeypatched ``os`` function cannot leak into
this run. The meters live in ``faultymeter.py`` in the pytester directory, one class
per fault, and are selected with ``--greenbudget-meter=faultymeter:Class``.

What every meter fault must leave behind: each test's own outcome and exit code, the
entry ``unmeasured`` with a message naming the meter and the fault, one session-end
``EnergyBudgetWarning`` per broken meter saying what broke and how many entries it
cost, no INTERNALERROR, no traceback, and the previous baseline entries of the
affected tests untouched, with no temporary file beside the baseline.
"""

from __future__ import annotations

import itertools
import json
import keyword
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytest_greenbudget.budget import MARKER_KEYWORDS, MarkerError, parse_marker

FAULTYMETER = '''
"""Meters with one fault each; the read counter is per process (one pytest run)."""
import os
import time

READS = [0]


class Counting:
    """A healthy meter: cumulative joules 1, 2, 3, ... so each test uses exactly 1 J."""

    name = "good"
    estimated = False
    per_process = True

    def read(self):
        READS[0] += 1
        return {"cpu": self.value(READS[0])}

    def value(self, n):
        return float(n)


class RaiseAlways(Counting):
    name = "raising"

    def value(self, n):
        raise RuntimeError(f"sensor exploded at read {n}")


class RaiseAtSecond(Counting):
    name = "glitchy"

    def value(self, n):
        if n == 2:
            raise RuntimeError("sensor glitch at read 2")
        return float(n)


class RaiseAtFourth(Counting):
    """Read 4 is the end of the second measured test (test_b, which fails on its own)."""

    name = "late"

    def value(self, n):
        if n == 4:
            raise RuntimeError("sensor glitch at read 4")
        return float(n)


class NaNAtSecond(Counting):
    name = "nanny"

    def value(self, n):
        return float("nan") if n == 2 else float(n)


class Decreasing(Counting):
    name = "decreasing"

    def value(self, n):
        return 1000.0 - n


class Negative(Counting):
    """Negative but increasing: legal, the origin of a cumulative counter is arbitrary."""

    name = "negative"

    def value(self, n):
        return -1.0e6 + n


class Constant(Counting):
    name = "constant"

    def value(self, n):
        return 5.0


class Hang(Counting):
    name = "hang"

    def value(self, n):
        if n >= 2:
            time.sleep(60)
        return float(n)


class BadInit(Counting):
    def __init__(self):
        raise OSError("no such sensor: /dev/fake0")


class BadClose(Counting):
    name = "badclose"

    def close(self):
        with open(os.environ["GB_CLOSE_LOG"], "a") as f:
            f.write("close called\\n")
        raise RuntimeError("close exploded")
'''

#: Three measured tests (one fails on its own) and one unmeasured test.
TESTS = """
import pytest

@pytest.mark.energy_budget("1 kJ")
def test_a():
    pass

@pytest.mark.energy_budget("1 kJ")
def test_b():
    assert 0, "own failure of test_b"

@pytest.mark.energy_budget("1 kJ")
def test_c():
    pass

def test_unmeasured():
    pass
"""

PASSING = """
import pytest

@pytest.mark.energy_budget("1 kJ")
def test_a():
    pass

@pytest.mark.energy_budget("1 kJ")
def test_c():
    pass
"""

IDS = {name: f"test_run.py::{name}" for name in ("test_a", "test_b", "test_c")}
OWN_OUTCOMES = {"test_a": "passed", "test_b": "failed", "test_c": "passed"}
PROFILE = "--greenbudget-profile=p"
SAVE = "--greenbudget-save"
QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")
OLD = {"joules": 1.0, "seconds": 123.0}


def previous_baseline() -> dict[str, Any]:
    """A baseline as another machine wrote it: every measured test, plus another profile."""
    return {
        "schema": "greenbudget-baseline/1",
        "profiles": {
            "p": {
                "machine": {"cpu": "recorded on another machine"},
                "entries": {node: dict(OLD) for node in IDS.values()},
            },
            "other": {
                "machine": {"cpu": "elsewhere"},
                "entries": {"tests/test_z.py::test_z": {"joules": 7.5, "seconds": 0.25}},
            },
        },
    }


def canonical(data: dict[str, Any]) -> bytes:
    """The bytes the plugin itself writes (sorted, indented, final newline)."""
    return (json.dumps(data, sort_keys=True, indent=2) + "\n").encode()


def write_previous(root: Path, relative: str = ".greenbudget/baseline.json") -> tuple[Path, bytes]:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = canonical(previous_baseline())
    path.write_bytes(blob)
    return path, blob


def no_crash(text: str) -> None:
    assert "INTERNALERROR" not in text, text
    assert "Traceback (most recent call last)" not in text, text


def only_the_baseline_beside(path: Path) -> None:
    """No temporary or half-written file next to the baseline."""
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def project_files(root: Path) -> list[str]:
    """The pytester dir's files, less pytester's own and Python's caches."""
    return sorted(
        p.name
        for p in root.iterdir()
        if p.name not in ("__pycache__", "stdout", "stderr") and not p.name.startswith("runpytest-")
    )


def session_warnings(text: str) -> list[str]:
    return re.findall(r"EnergyBudgetWarning: (greenbudget: .*)", text)


@pytest.fixture
def fp(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester dir holding faultymeter.py, importable in subprocesses."""
    pytester.makepyfile(faultymeter=FAULTYMETER)
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path) + (os.pathsep + old if old else ""))
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("GB_CLOSE_LOG", str(pytester.path / "close.log"))
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "GREENBUDGET_READ_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(fp: pytest.Pytester, meter: str, *args: str, timeout: float = 60) -> pytest.RunResult:
    return fp.runpytest_subprocess(
        *QUIET, f"--greenbudget-meter=faultymeter:{meter}", *args, timeout=timeout
    )


def text_of(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


# ------------------------------------------------------------------ meter faults


@dataclass(frozen=True)
class Fault:
    meter: str  # the class in faultymeter
    name: str  # the meter's name
    unmeasured: tuple[str, ...]  # tests whose entry the fault costs
    fragment: str  # what every unmeasured entry's message says about the fault


FAULTS = {
    "raise-from-first-read": Fault(
        "RaiseAlways",
        "raising",
        ("test_a", "test_b", "test_c"),
        "RuntimeError: sensor exploded at read",
    ),
    "raise-at-second-read": Fault(
        "RaiseAtSecond", "glitchy", ("test_a",), "RuntimeError: sensor glitch at read 2"
    ),
    "nan": Fault("NaNAtSecond", "nanny", ("test_a",), "non-finite value for 'cpu'"),
    "decreasing": Fault(
        "Decreasing", "decreasing", ("test_a", "test_b", "test_c"), "went backwards"
    ),
    "hang": Fault("Hang", "hang", ("test_a", "test_b", "test_c"), ""),
    "own-failure-and-meter-failure": Fault(
        "RaiseAtFourth", "late", ("test_b",), "RuntimeError: sensor glitch at read 4"
    ),
}


@dataclass
class Run:
    ret: int
    text: str
    outcomes: dict[str, int]
    doc: dict[str, Any]
    before: bytes
    after: bytes
    beside: list[str]
    seconds: float

    def entries(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.doc["entries"]}


#: One subprocess run per fault, shared by the tests that check different aspects of it.
_RUNS: dict[str, Run] = {}


def fault_run(fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str) -> Run:
    if key in _RUNS:
        return _RUNS[key]
    fault = FAULTS[key]
    fp.makepyfile(test_run=TESTS)
    path, before = write_previous(fp.path)
    if key == "hang":
        monkeypatch.setenv("GREENBUDGET_READ_TIMEOUT_S", "0.5")
    report = fp.path / "report.json"
    start = time.monotonic()
    result = run(fp, fault.meter, PROFILE, SAVE, f"--greenbudget-json={report}", timeout=45)
    seconds = time.monotonic() - start
    assert report.is_file(), text_of(result)
    _RUNS[key] = Run(
        ret=result.ret,
        text=text_of(result),
        outcomes=result.parseoutcomes(),
        doc=json.loads(report.read_text()),
        before=before,
        after=path.read_bytes(),
        beside=sorted(p.name for p in path.parent.iterdir()),
        seconds=seconds,
    )
    return _RUNS[key]


@pytest.mark.parametrize("key", list(FAULTS))
def test_meter_fault_keeps_outcomes_and_marks_entries_unmeasured(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    fault = FAULTS[key]
    r = fault_run(fp, monkeypatch, key)
    no_crash(r.text)
    # every test keeps its own outcome, and so does the exit code
    assert r.outcomes.get("passed") == 3 and r.outcomes.get("failed") == 1, r.text
    assert "errors" not in r.outcomes and "error" not in r.outcomes, r.text
    assert r.ret == 1, r.text
    entries = r.entries()
    assert set(entries) == set(IDS.values())
    for test, node in IDS.items():
        entry = entries[node]
        assert entry["outcome"] == OWN_OUTCOMES[test], entry
        if test in fault.unmeasured:
            assert entry["status"] == "unmeasured", entry
            assert entry["joules"] is None and entry["co2_grams"] is None, entry
            assert entry["message"].startswith("unmeasured: "), entry
            assert fault.fragment in entry["message"], entry
        else:
            assert entry["status"] == "ok", entry
            assert entry["joules"] == pytest.approx(1.0), entry
    # the energy summary is printed and says why
    assert "energy summary" in r.text
    # exactly one session-end warning, for this meter, with the count of lost entries
    count = len(fault.unmeasured)
    cost = f"-- {count} entr{'y' if count == 1 else 'ies'} left unmeasured"
    found = session_warnings(r.text)
    assert len(found) == 1, found
    assert found[0].endswith(cost), found
    if fault.fragment:
        assert fault.fragment in found[0], found


@pytest.mark.parametrize("key", FAULTS)
def test_meter_fault_message_names_the_meter(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    fault = FAULTS[key]
    r = fault_run(fp, monkeypatch, key)
    for test in fault.unmeasured:
        assert f"meter '{fault.name}'" in r.entries()[IDS[test]]["message"]
    (warning,) = session_warnings(r.text)
    assert f"meter '{fault.name}'" in warning


@pytest.mark.parametrize("key", list(FAULTS))
def test_meter_fault_keeps_the_previous_baseline_entries(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """Under --greenbudget-save, a lost or failed entry keeps its old numbers."""
    fault = FAULTS[key]
    r = fault_run(fp, monkeypatch, key)
    assert r.beside == ["baseline.json"]
    old = previous_baseline()
    new = json.loads(r.after)
    assert new["schema"] == old["schema"]
    assert new["profiles"]["other"] == old["profiles"]["other"]
    saved = new["profiles"]["p"]["entries"]
    assert set(saved) == set(IDS.values())
    entries = r.entries()
    for test, node in IDS.items():
        if test in fault.unmeasured or OWN_OUTCOMES[test] != "passed":
            assert saved[node] == OLD, (test, saved[node])
        else:
            assert saved[node]["joules"] == pytest.approx(1.0)
            assert saved[node]["seconds"] == pytest.approx(entries[node]["seconds"])


def test_saving_run_that_measured_nothing_leaves_the_file_byte_for_byte(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = fault_run(fp, monkeypatch, "raise-from-first-read")
    assert r.after == r.before


def test_hung_meter_is_bounded_and_the_session_ends(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = fault_run(fp, monkeypatch, "hang")
    # the meter sleeps 60 s per read: the bound (0.5 s) is paid once, not per test
    assert r.seconds < 15, r.seconds
    entries = r.entries()
    first = entries[IDS["test_a"]]["message"]
    assert "meter 'hang'" in first and "did not answer within 0.5 s" in first, first
    assert "GREENBUDGET_READ_TIMEOUT_S" in first, first
    for test in ("test_b", "test_c"):
        message = entries[IDS[test]]["message"]
        assert "meter 'hang' is hung" in message, message
    (warning,) = session_warnings(r.text)
    assert "did not answer within 0.5 s" in warning, warning
    # the session ended normally: summary line and an exit code from the tests alone
    assert re.search(r"1 failed, 3 passed.* in [\d.]+s", r.text), r.text
    assert r.ret == 1


def test_own_failure_message_is_shown_when_its_meter_also_fails(
    fp: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = fault_run(fp, monkeypatch, "own-failure-and-meter-failure")
    assert "AssertionError: own failure of test_b" in r.text, r.text
    assert re.search(r"FAILED test_run.py::test_b - AssertionError: own failure of test_b", r.text)
    entry = r.entries()[IDS["test_b"]]
    assert entry["outcome"] == "failed" and entry["status"] == "unmeasured", entry
    # the energy side never replaces the test's own failure text
    failures = r.text.split("= FAILURES =")[1].split("= warnings summary =")[0]
    assert "unmeasured" not in failures and "sensor glitch" not in failures, failures


def test_negative_cumulative_values_are_a_legal_origin(fp: pytest.Pytester) -> None:
    """SPEC 5: cumulative joules since an arbitrary origin; only differences count.

    A counter at -1e6 J that rises by 1 J per test is healthy: every entry is measured
    at exactly 1 J, nothing is unmeasured, nothing warns, and the saved numbers are
    the non-negative differences.
    """
    fp.makepyfile(test_run=TESTS)
    path, _ = write_previous(fp.path)
    report = fp.path / "report.json"
    result = run(fp, "Negative", PROFILE, SAVE, f"--greenbudget-json={report}")
    no_crash(text_of(result))
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 1
    doc = json.loads(report.read_text())
    for entry in doc["entries"]:
        assert entry["status"] == "ok", entry
        assert entry["joules"] == pytest.approx(1.0) and entry["domains"] == {"cpu": 1.0}
    assert not session_warnings(text_of(result))
    saved = json.loads(path.read_text())["profiles"]["p"]["entries"]
    assert saved[IDS["test_a"]]["joules"] == pytest.approx(1.0)
    assert saved[IDS["test_b"]] == OLD  # failed on its own: never saved
    only_the_baseline_beside(path)


# ------------------------------------------------------------------ meter life cycle


def test_meter_constructor_raising_is_a_usage_error(fp: pytest.Pytester) -> None:
    fp.makepyfile(test_run=TESTS.replace("pass", "open('ran', 'w').close()"))
    path, blob = write_previous(fp.path)
    result = run(fp, "BadInit", SAVE)
    assert result.ret == 4, text_of(result)
    no_crash(text_of(result))
    err = result.stderr.str()
    assert "faultymeter:BadInit" in err, err
    assert "BadInit()" in err and "OSError: no such sensor: /dev/fake0" in err, err
    assert not (fp.path / "ran").exists(), "a test ran although the meter could not be built"
    assert path.read_bytes() == blob
    only_the_baseline_beside(path)


def test_meter_constructor_error_names_where_the_spec_came_from(fp: pytest.Pytester) -> None:
    fp.makepyfile(test_run=TESTS)
    result = run(fp, "BadInit")
    assert result.ret == 4
    err = result.stderr.str()
    assert "built-in defaults" not in err, err
    assert "--greenbudget-meter" in err, err


def test_meter_close_raising_still_ends_the_session(fp: pytest.Pytester) -> None:
    fp.makepyfile(test_run=TESTS)
    path, _ = write_previous(fp.path)
    report = fp.path / "report.json"
    result = run(fp, "BadClose", PROFILE, SAVE, f"--greenbudget-json={report}")
    no_crash(text_of(result))
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 1
    assert (fp.path / "close.log").read_text() == "close called\n"
    assert [e["status"] for e in json.loads(report.read_text())["entries"]] == ["ok"] * 3
    saved = json.loads(path.read_text())["profiles"]["p"]["entries"]
    assert saved[IDS["test_a"]] != OLD  # the session ended and saved before close()
    only_the_baseline_beside(path)


# ------------------------------------------------------------------ baseline writes

BLOCKED = """
[tool.greenbudget]
baseline = "blocker/baseline.json"
"""


def test_baseline_path_through_a_file_is_a_usage_error(fp: pytest.Pytester) -> None:
    """A baseline path that cannot be read (here: through a regular file) stops the run
    before any test (SPEC 7: an unreadable baseline is a usage error naming the file)."""
    fp.makepyfile(test_run=PASSING)
    fp.makefile(".toml", pyproject=BLOCKED)
    blocker = fp.path / "blocker"
    blocker.write_text("a regular file\n")
    result = run(fp, "Counting", SAVE)
    no_crash(text_of(result))
    assert result.ret == 4, text_of(result)
    assert str(blocker / "baseline.json") in text_of(result)
    assert blocker.read_text() == "a regular file\n"


BLOCKED_LATER = """
import pathlib, pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    # the baseline's folder turns into a regular file before the plugin saves
    pathlib.Path(str(session.config.rootpath), "state").write_text("a regular file\\n")
"""


def test_baseline_folder_that_cannot_be_written_warns_and_keeps_exit_code(
    fp: pytest.Pytester,
) -> None:
    fp.makepyfile(test_run=PASSING, conftest=BLOCKED_LATER)
    fp.makefile(".toml", pyproject='[tool.greenbudget]\nbaseline = "state/baseline.json"\n')
    before = project_files(fp.path)
    result = run(fp, "Counting", SAVE)
    text = text_of(result)
    no_crash(text)
    result.assert_outcomes(passed=2)
    assert result.ret == 0, text
    (warning,) = session_warnings(text)
    assert "baseline not saved" in warning, warning
    assert str(fp.path / "state" / "baseline.json") in warning, warning
    assert (fp.path / "state").read_text() == "a regular file\n"
    # nothing else written into the project (no stray temporary file)
    assert project_files(fp.path) == sorted([*before, "state"])


NO_SPACE = """
import errno, os, pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    os.{name} = no_space
"""


@pytest.mark.parametrize("function", ["fsync", "replace"])
def test_disk_full_while_saving_keeps_old_baseline(fp: pytest.Pytester, function: str) -> None:
    fp.makepyfile(test_run=PASSING, conftest=NO_SPACE.format(name=function))
    path, blob = write_previous(fp.path)
    result = run(fp, "Counting", PROFILE, SAVE)
    text = text_of(result)
    no_crash(text)
    result.assert_outcomes(passed=2)
    assert result.ret == 0, text
    (warning,) = session_warnings(text)
    assert "baseline not saved" in warning and str(path) in warning, warning
    assert "No space left on device" in warning and "Errno 28" in warning, warning
    assert path.read_bytes() == blob
    only_the_baseline_beside(path)


INTERRUPTED = """
import pytest

@pytest.mark.energy_budget("1 kJ")
def test_a():
    pass

@pytest.mark.energy_budget("1 kJ")
def test_interrupt():
    raise KeyboardInterrupt

@pytest.mark.energy_budget("1 kJ")
def test_never():
    open("never-ran", "w").close()
"""


def test_interrupted_saving_run_keeps_old_baseline(fp: pytest.Pytester) -> None:
    fp.makepyfile(test_run=INTERRUPTED)
    path, blob = write_previous(fp.path)
    result = run(fp, "Counting", PROFILE, SAVE)
    text = text_of(result)
    no_crash(text)
    assert result.ret == 2, text
    assert "KeyboardInterrupt" in text
    result.assert_outcomes(passed=1)
    assert not (fp.path / "never-ran").exists()
    (warning,) = session_warnings(text)
    assert "interrupted" in warning and str(path) in warning and "not updated" in warning
    assert path.read_bytes() == blob
    only_the_baseline_beside(path)


CTRL_C_WHILE_WRITING = """
import os, pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    real = os.replace
    def interrupted(src, dst, *args, **kwargs):
        if str(dst).endswith("baseline.json"):
            raise KeyboardInterrupt
        return real(src, dst, *args, **kwargs)
    os.replace = interrupted
"""


def test_interrupt_during_the_baseline_write_keeps_old_file(fp: pytest.Pytester) -> None:
    """Ctrl-C between writing the temporary file and renaming it: the old file stays.

    (pytest itself prints the interrupt's traceback when it lands inside a session-finish
    hook, so only the files are checked here.)
    """
    fp.makepyfile(test_run=PASSING, conftest=CTRL_C_WHILE_WRITING)
    path, blob = write_previous(fp.path)
    result = run(fp, "Counting", PROFILE, SAVE)
    assert result.ret != 0
    assert path.read_bytes() == blob
    only_the_baseline_beside(path)


# ------------------------------------------------------------------ marker property

_JOULES = ["5 J", "0 J", "1 kWh", "2 gCO2e", "3 mgCO2eq", "1e3 J", "-1 J", "5 Jx", "nan J"]
_STRINGS = ["fail", "warn", "FAIL", "", " ", *_JOULES]


def _values(small_ints: bool) -> st.SearchStrategy[Any]:
    ints = (
        st.integers(-5, 5)
        if small_ints
        else st.one_of(st.integers(-(10**6), 10**6), st.sampled_from([10**400, -(10**400), 2**63]))
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        ints,
        st.floats(),
        st.text(max_size=8),
        st.sampled_from(_STRINGS),
        st.binary(max_size=3),
    )
    return st.one_of(scalars, st.lists(scalars, max_size=2), st.tuples(scalars))


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s)
)
#: rounds and warmup repeat the body: keep integers small so a valid value stays fast.
_KWARGS = st.dictionaries(
    st.one_of(st.sampled_from(MARKER_KEYWORDS), _NAMES), st.just(None), max_size=3
).flatmap(
    lambda keys: st.fixed_dictionaries(
        {k: _values(small_ints=k in ("rounds", "warmup")) for k in keys}
    )
)
_CALLS = st.tuples(st.lists(_values(small_ints=False), max_size=2), _KWARGS)


def _source(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_source(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(_source(v) + ", " for v in value) + ")"
    return repr(value)


_EXAMPLE = itertools.count()


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(calls=st.lists(_CALLS, min_size=24, max_size=36))
def test_any_marker_arguments_in_a_real_run(
    fp: pytest.Pytester, calls: list[tuple[list[Any], dict[str, Any]]]
) -> None:
    """Any marker call gives a valid setting or that test's clear error, never a crash."""
    folder = fp.path / f"example{next(_EXAMPLE)}"
    folder.mkdir()
    lines = ["import pytest", ""]
    expected: list[Any] = []  # MarkerArgs, or None for a marker error
    for i, (args, kwargs) in enumerate(calls):
        try:
            expected.append(parse_marker(args, kwargs))
        except MarkerError:
            expected.append(None)
        call = ", ".join(
            [*(_source(a) for a in args), *(f"{k}={_source(v)}" for k, v in kwargs.items())]
        )
        lines += [f"@pytest.mark.energy_budget({call})", f"def test_m{i}():", "    pass", ""]
    (folder / "test_markers.py").write_text("\n".join(lines), encoding="utf-8")
    report, junit = folder / "report.json", folder / "junit.xml"
    result = fp.runpytest_subprocess(
        *QUIET,
        "--greenbudget-meter=faultymeter:Constant",
        f"--rootdir={folder}",
        f"--greenbudget-json={report}",
        f"--junitxml={junit}",
        str(folder),
        timeout=60,
    )
    text = text_of(result)
    no_crash(text)
    bad = sum(e is None for e in expected)
    result.assert_outcomes(passed=len(calls) - bad, errors=bad)
    assert result.ret == (1 if bad else 0), text
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    entries = {e["id"].rsplit("::", 1)[1]: e for e in json.loads(report.read_text())["entries"]}
    for i, parsed in enumerate(expected):
        name = f"test_m{i}"
        error = cases[name].find("error")
        if parsed is None:
            assert error is not None, name
            message = (error.get("message") or "") + (error.text or "")
            assert name in message and "energy_budget" in message, message
            assert name not in entries
        else:
            assert error is None and cases[name].find("failure") is None, name
            entry = entries[name]
            assert entry["status"] == ("new" if parsed.budget is None else "ok"), entry
            assert entry["rounds"] == (parsed.rounds or 1), entry
