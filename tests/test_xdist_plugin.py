"""Under pytest-xdist, machine-wide meters see only the measured test's own work."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("xdist")

FAKE_METER = """
import os

class MachineMeter:
    '''Counts every byte any test appends to one file: the whole machine's "energy".'''
    name = "machine"
    estimated = False

    def read(self):
        try:
            return {"machine": float(os.path.getsize(os.environ["GB_ENERGY_FILE"]))}
        except FileNotFoundError:
            return {"machine": 0.0}
"""

TESTS = """
import os, time, pytest

def work(units, delay=0.001):
    fd = os.open(os.environ["GB_ENERGY_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        for _ in range(units):
            os.write(fd, b"x")
            time.sleep(delay)
    finally:
        os.close(fd)

@pytest.mark.parametrize("i", range(6))
@pytest.mark.energy_budget(rounds=2)
def test_measured(i):
    work(10 + i)

@pytest.mark.parametrize("i", range(6))
def test_region(i, energy_meter):
    with energy_meter.measure("own") as own:
        work(5 + i)
    if os.environ.get("GB_EXACT"):
        assert own.joules == 5 + i

@pytest.mark.parametrize("i", range(16))
def test_background(i):
    work(25)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(fakemeter=FAKE_METER, test_work=TESTS)
    pytester.makepyfile(test_more=TESTS.replace("def test_", "def test_more_"))
    monkeypatch.setenv("GB_ENERGY_FILE", str(pytester.path / "energy.bin"))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    return pytester


def _entries(path: Path) -> dict[str, float]:
    document = json.loads(path.read_text())
    return {e["id"]: e["joules"] for e in document["entries"]}


@pytest.mark.parametrize(
    ("workers", "dist"),
    [
        ("2", "load"),
        ("2", "loadscope"),
        ("2", "loadfile"),
        ("2", "loadgroup"),
        ("4", "load"),
        ("4", "load"),
    ],
)
def test_measured_phases_run_alone(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: str, dist: str
) -> None:
    report = project.path / "energy.json"
    monkeypatch.setenv("GB_EXACT", "1")
    result = project.runpytest_subprocess(
        "-n",
        workers,
        "--dist",
        dist,
        "--greenbudget-meter=fakemeter:MachineMeter",
        f"--greenbudget-json={report}",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    result.assert_outcomes(passed=56)
    joules = _entries(report)
    for file in ("test_work.py", "test_more.py"):
        prefix = "test_more_" if file == "test_more.py" else "test_"
        for i in range(6):
            assert joules[f"{file}::{prefix}measured[{i}]"] == 10 + i
            assert joules[f"{file}::{prefix}region[{i}]::own"] == 5 + i
    assert len(joules) == 24, "every worker's entries reach the controller's report"


def test_per_process_meters_take_no_lock(project: pytest.Pytester) -> None:
    """With only per-process meters nothing waits: the lock folder is never created."""
    result = project.runpytest_subprocess(
        "-n", "2", "--greenbudget-meter=estimate", "-p", "no:cacheprovider", timeout=120
    )
    result.assert_outcomes(passed=56)
    assert "energy summary" in result.stdout.str()


def test_a_crashed_worker_does_not_block_the_others(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(fakemeter=FAKE_METER)
    pytester.makepyfile(
        test_crash=textwrap.dedent(
            """
            import os, time, pytest

            @pytest.mark.energy_budget()
            def test_crashes_while_measured():
                os._exit(3)

            @pytest.mark.parametrize("i", range(6))
            @pytest.mark.energy_budget()
            def test_after(i):
                time.sleep(0.05)
            """
        )
    )
    monkeypatch.setenv("GB_ENERGY_FILE", str(pytester.path / "energy.bin"))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    result = pytester.runpytest_subprocess(
        "-n",
        "2",
        "--greenbudget-meter=fakemeter:MachineMeter",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    result.assert_outcomes(passed=6, failed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_baseline_is_written_once_by_the_controller(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "-n",
        "2",
        "--greenbudget-meter=fakemeter:MachineMeter",
        "--greenbudget-save",
        "--greenbudget-profile=ci",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    result.assert_outcomes(passed=56)
    baseline = json.loads((project.path / ".greenbudget" / "baseline.json").read_text())
    entries = baseline["profiles"]["ci"]["entries"]
    assert len(entries) == 24
    assert entries["test_work.py::test_measured[3]"]["joules"] == 13
    leftovers = [p.name for p in (project.path / ".greenbudget").iterdir()]
    assert leftovers == ["baseline.json"]


LATE_TESTS = """
import os, pytest
from test_work import work

@pytest.mark.parametrize("i", range(6))
def test_late_region(i, request):
    energy_meter = request.getfixturevalue("energy_meter")  # collection cannot know
    with energy_meter.measure("own") as own:
        work(5 + i)
    assert own.joules == 5 + i  # only when no other test ran inside the region
"""


def test_late_regions_run_alone_where_nothing_else_is_measured(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, item 5: a region the call did not know of takes the exclusive lock itself."""
    background = TESTS.split("@pytest.mark.parametrize")[0] + (
        '@pytest.mark.parametrize("i", range(24))\ndef test_background(i):\n    work(25)\n'
    )
    pytester.makepyfile(fakemeter=FAKE_METER, test_work=background, test_late=LATE_TESTS)
    monkeypatch.setenv("GB_ENERGY_FILE", str(pytester.path / "energy.bin"))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    report = pytester.path / "energy.json"
    result = pytester.runpytest_subprocess(
        "-n", "2", "--greenbudget-meter=fakemeter:MachineMeter",
        f"--greenbudget-json={report}", "-p", "no:cacheprovider", timeout=120,
    )  # fmt: skip
    result.assert_outcomes(passed=30)
    assert _entries(report) == {
        f"test_late.py::test_late_region[{i}]::own": 5 + i for i in range(6)
    }
