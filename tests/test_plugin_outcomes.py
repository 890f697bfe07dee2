"""Issue 10 part B: pytest's own outcomes (xfail, skip, reruns, stepwise) stay pytest's.

Energy can only turn a passing test into a failure: never a failure into a pass, never a
skipped or xfailed test into a row, never a rerun into a second row.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

XFAIL = """
import pytest, fakemeter

@pytest.mark.xfail(strict=True, reason="not fixed yet")
@pytest.mark.energy_budget("10 J")
def test_strict_xpass():
    fakemeter.spend(12.4)

@pytest.mark.xfail(reason="flaky upstream")
@pytest.mark.energy_budget("10 J")
def test_plain_xpass():
    fakemeter.spend(12.4)

@pytest.mark.xfail(reason="known bug")
@pytest.mark.energy_budget("10 J")
def test_real_xfail():
    fakemeter.spend(12.4)
    assert False

@pytest.mark.energy_budget("10 J")
def test_imperative_xfail():
    fakemeter.spend(12.4)
    pytest.xfail("not today")

@pytest.mark.energy_budget("10 J")
def test_dynamic_xfail_mark(request):
    request.applymarker(pytest.mark.xfail(reason="added in the body"))
    fakemeter.spend(12.4)

@pytest.mark.energy_budget("10 J")
def test_skip_in_body():
    fakemeter.spend(12.4)
    pytest.skip("not here")

@pytest.mark.skip(reason="before its call")
@pytest.mark.energy_budget("10 J")
def test_skip_marker():
    fakemeter.spend(12.4)
"""


def _counts(result: pytest.RunResult) -> dict[str, int]:
    return {k: v for k, v in result.parseoutcomes().items() if k != "warnings"}


def _outcomes(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {e["id"].split("::", 1)[1]: (e["status"], e["outcome"]) for e in doc["entries"]}


@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_xfail_and_skip_keep_pytest_outcomes(gb: Any, assert_no_crash: Any, xdist: bool) -> None:
    gb.pytester.makepyfile(test_x=XFAIL)
    xml = gb.path / "junit.xml"
    args = ["-n", "2"] if xdist else []
    result, doc = gb.run_json("-rfEX", f"--junitxml={xml}", *args, sub=xdist)
    assert_no_crash(result)
    # strict XPASS stays a failure; a plain XPASS over budget fails for energy;
    # the dynamic xfail mark passes too: that is an XPASS over budget as well
    result.assert_outcomes(failed=3, xfailed=2, skipped=2)
    assert result.ret == 1
    out = result.stdout.str()
    assert "[XPASS(strict)] not fixed yet" in out
    result.stdout.fnmatch_lines(
        ["FAILED *::test_plain_xpass - *energy budget exceeded: used 12.4 J, budget 10 J*"]
    )
    # only tests whose call passed have entries: skipped and xfailed tests have no row
    assert _outcomes(doc) == {
        "test_strict_xpass": ("over_budget", "failed"),
        "test_plain_xpass": ("over_budget", "failed"),
        "test_dynamic_xfail_mark": ("over_budget", "failed"),
    }
    text = xml.read_text()
    assert text.count('name="energy_status"') == 3  # no JUnit energy property on a skip


def test_plain_xpass_within_budget_and_warn_keep_xpass(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter

        @pytest.mark.xfail(reason="flaky")
        @pytest.mark.energy_budget("10 J")
        def test_within():
            fakemeter.spend(1)

        @pytest.mark.xfail(reason="flaky")
        @pytest.mark.energy_budget("10 J", on_exceed="warn")
        def test_warns():
            fakemeter.spend(12.4)
        """
    )
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    assert_no_crash(result)
    result.assert_outcomes(xpassed=2, warnings=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning: *test_warns: energy budget exceeded*"])
    assert _outcomes(doc) == {
        "test_within": ("ok", "passed"),
        "test_warns": ("over_budget", "passed"),
    }
    # under warnings-as-errors the warning fails the XPASS test, as it fails any test
    result = gb.run("-W", "error::pytest_greenbudget.EnergyBudgetWarning")
    assert_no_crash(result)
    result.assert_outcomes(xpassed=1, failed=1)


def test_xfail_under_phases_all(gb: Any, assert_no_crash: Any) -> None:
    """Under phases = "all" the verdict comes in the teardown: xfail must not swallow it."""
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\n')
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter

        @pytest.mark.xfail(reason="flaky")
        @pytest.mark.energy_budget("10 J")
        def test_plain_xpass():
            fakemeter.spend(12.4)

        @pytest.mark.xfail(reason="known bug")
        @pytest.mark.energy_budget("10 J")
        def test_real_xfail():
            fakemeter.spend(12.4)
            assert False
        """
    )
    result, doc = gb.run_json("-rE")
    assert_no_crash(result)
    result.assert_outcomes(xpassed=1, errors=1, xfailed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["ERROR *::test_plain_xpass - *energy budget exceeded*"])
    assert _outcomes(doc) == {"test_plain_xpass": ("over_budget", "error")}


def test_unittest_expected_failure_is_not_an_energy_failure(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyprojecttoml(
        '[tool.greenbudget]\nmeasure_all = true\ndefault_budget = "10 J"\n'
    )
    gb.pytester.makepyfile(
        """
        import unittest, fakemeter

        class T(unittest.TestCase):
            @unittest.expectedFailure
            def test_expected(self):
                fakemeter.spend(12.4)
                self.assertEqual(1, 2)

            def test_fails(self):
                fakemeter.spend(12.4)
                self.assertEqual(1, 2)
        """
    )
    result, doc = gb.run_json("-rf")
    assert_no_crash(result)
    result.assert_outcomes(xfailed=1, failed=1)
    failures = result.stdout.str().split("energy summary")[0]
    assert "AssertionError: 1 != 2" in failures
    assert "energy budget exceeded" not in failures  # energy never hides a real failure
    assert _outcomes(doc) == {"T::test_fails": ("over_budget", "failed")}
    (entry,) = doc["entries"]
    assert entry["outcome"] == "failed"


# --------------------------------------------------------------------------- late fixture

LATE = """
import pytest, fakemeter

def test_late(request):
    meter = request.getfixturevalue("energy_meter")
    with meter.measure("r", budget="1 J"):
        fakemeter.spend(12.4)

def test_plain():
    pass
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_late_fixture_alone_gets_its_entry_and_verdict(
    gb: Any, assert_no_crash: Any, xdist: bool
) -> None:
    gb.pytester.makepyfile(test_late=LATE)
    args = ["-n", "2"] if xdist else []
    result, doc = gb.run_json("-rf", *args, sub=xdist)
    assert_no_crash(result)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_late - *r: energy budget exceeded*"])
    assert _outcomes(doc) == {"test_late::r": ("over_budget", "failed")}
    assert doc["entries"][0]["joules"] == pytest.approx(12.4)


def test_late_fixture_warns_and_honours_warnings_as_errors(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyfile(test_late=LATE.replace('budget="1 J"', 'budget="1 J", on_exceed="warn"'))
    result = gb.run("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    assert_no_crash(result)
    result.assert_outcomes(passed=2, warnings=1)
    result = gb.run("-W", "error::pytest_greenbudget.EnergyBudgetWarning")
    assert_no_crash(result)
    result.assert_outcomes(passed=1, failed=1)


# --------------------------------------------------------------------------- reruns

needs_reruns = pytest.mark.skipif(
    importlib.util.find_spec("pytest_rerunfailures") is None, reason="needs pytest-rerunfailures"
)

RERUN = """
import os, pytest, fakemeter

def test_fails():
    assert False

@pytest.mark.energy_budget("10 J")
def test_flaky():
    fakemeter.spend(float(os.environ.get("GB_FIRST", "3")))
    if not os.path.exists("flaky-ran"):
        open("flaky-ran", "w").close()
        assert False, "first attempt fails"
    fakemeter.spend(1)

@pytest.mark.energy_budget("10 J")
def test_always_failing():
    fakemeter.spend(2)
    assert False

def test_region_flaky(energy_meter):
    with energy_meter.measure("r"):
        fakemeter.spend(4)
    if not os.path.exists("region-ran"):
        open("region-ran", "w").close()
        assert False
"""


@needs_reruns
@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_reruns_without_measurement_do_not_crash(
    gb: Any, assert_no_crash: Any, xdist: bool
) -> None:
    """The plugin merely installed, nothing measured: the reruns plugin works as without it."""
    gb.pytester.makepyfile(test_r="def test_fails():\n    assert False\n")
    args = ["-n", "2"] if xdist else []
    result = gb.run_sub("--reruns", "1", *args)
    assert_no_crash(result)
    assert _counts(result) == {"failed": 1, "rerun": 1}
    assert result.ret == 1


@needs_reruns
@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_reruns_keep_one_entry_per_test_the_last_attempt(
    gb: Any, assert_no_crash: Any, xdist: bool
) -> None:
    gb.pytester.makepyfile(test_r=RERUN)
    args = ["-n", "2"] if xdist else []
    result, doc = gb.run_json("--reruns", "2", "--greenbudget-save", *args, sub=True)
    assert_no_crash(result)
    assert _counts(result) == {"passed": 2, "failed": 2, "rerun": 6}
    assert result.ret == 1
    entries = gb.entries(doc)
    assert sorted(entries) == [
        "test_r.py::test_always_failing",
        "test_r.py::test_flaky",
        "test_r.py::test_region_flaky::r",
    ]
    flaky = entries["test_r.py::test_flaky"]
    assert (flaky["outcome"], flaky["joules"], flaky["rounds"]) == ("passed", 4, 1)
    assert entries["test_r.py::test_always_failing"]["outcome"] == "failed"
    assert entries["test_r.py::test_always_failing"]["joules"] == 2
    assert entries["test_r.py::test_region_flaky::r"]["joules"] == 4
    assert entries["test_r.py::test_region_flaky::r"]["outcome"] == "passed"
    assert doc["totals"]["joules"] == pytest.approx(4 + 2)
    saved = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = saved["profiles"].values()
    assert sorted(profile["entries"]) == [
        "test_r.py::test_flaky",
        "test_r.py::test_region_flaky::r",
    ]
    assert profile["entries"]["test_r.py::test_flaky"]["joules"] == 4
    assert result.stdout.str().count("test_r.py::test_flaky ") == 1  # one summary row


@needs_reruns
def test_energy_failure_is_rerun_like_any_failure(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyfile(
        """
        import os, pytest, fakemeter

        @pytest.mark.energy_budget("10 J")
        def test_noisy():
            first = not os.path.exists("ran")
            open("ran", "w").close()
            fakemeter.spend(12.4 if first else 9)
        """
    )
    result, doc = gb.run_json("--reruns", "1", sub=True)
    assert_no_crash(result)
    assert _counts(result) == {"passed": 1, "rerun": 1}
    assert _outcomes(doc) == {"test_noisy": ("ok", "passed")}


def test_other_plugins_outcomes_are_never_saved(gb: Any, assert_no_crash: Any) -> None:
    """A report outcome pytest does not know (another plugin's) is no pass and no crash."""
    gb.pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_makereport(item, call):
            report = yield
            if call.when == "call" and item.name == "test_odd":
                report.outcome = "odd"
            return report

        def pytest_report_teststatus(report):
            if report.outcome == "odd":
                return "odd", "O", "ODD"
        """
    )
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter

        @pytest.mark.energy_budget("10 J")
        def test_odd():
            fakemeter.spend(1)
        """
    )
    for args in ([], ["-n", "2"]):
        (gb.path / ".greenbudget").mkdir(exist_ok=True)
        result, doc = gb.run_json("--greenbudget-save", *args, sub=bool(args))
        assert_no_crash(result)
        assert result.ret != 3, result.stdout.str()
        assert _outcomes(doc) == {"test_odd": ("ok", "failed")}
        assert not (gb.path / ".greenbudget" / "baseline.json").exists()


# --------------------------------------------------------------------------- stepwise, markdown


def test_stepwise_saves_what_passed(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter

        @pytest.mark.energy_budget("10 J")
        def test_a():
            fakemeter.spend(1)

        def test_b():
            assert False

        @pytest.mark.energy_budget("10 J")
        def test_c():
            fakemeter.spend(1)
        """
    )
    for stop in ("--sw", "-x", "--maxfail=1"):
        path = gb.path / ".greenbudget" / "baseline.json"
        path.unlink(missing_ok=True)
        result = gb.run("--greenbudget-save", stop, "-p", "no:randomly")
        assert_no_crash(result)
        result.assert_outcomes(passed=1, failed=1)
        assert "not updated" not in result.stdout.str(), stop
        saved = json.loads(path.read_text())
        (profile,) = saved["profiles"].values()
        assert sorted(profile["entries"]) == ["test_stepwise_saves_what_passed.py::test_a"], stop


@pytest.mark.parametrize("stop", ["-x", "--sw"])
def test_pytests_own_stop_under_xdist_saves(gb: Any, assert_no_crash: Any, stop: str) -> None:
    """Under xdist, -x and --sw end with xdist's Interrupted (exit 2): still no real Ctrl-C."""
    gb.pytester.makepyfile(
        """
        import time, pytest, fakemeter

        @pytest.mark.energy_budget("10 J")
        def test_a():
            fakemeter.spend(1)

        def test_b():
            time.sleep(0.5)
            assert False

        @pytest.mark.parametrize("i", range(8))
        def test_slow(i):
            time.sleep(0.3)
        """
    )
    result = gb.run_sub("-n", "2", stop, "--greenbudget-save")
    assert_no_crash(result)
    assert "not updated" not in result.stdout.str() + result.stderr.str()
    saved = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = saved["profiles"].values()
    assert sorted(profile["entries"]) == ["test_pytests_own_stop_under_xdist_saves.py::test_a"]


def test_markdown_is_written_when_nothing_is_measured(gb: Any, assert_no_crash: Any) -> None:
    gb.pytester.makepyfile("def test_plain():\n    pass\n")
    md = gb.path / "energy.md"
    result = gb.run(f"--greenbudget-markdown={md}")
    assert_no_crash(result)
    result.assert_outcomes(passed=1)
    text = md.read_text(encoding="utf-8")
    assert "nothing was measured" in text.lower()


# --------------------------------------------------------------------------- xdist workers


def test_meter_failing_only_in_workers_is_one_usage_error(
    gb: Any, assert_no_crash: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # this suite's own xdist worker
    gb.pytester.makepyfile(
        workermeter="""
        import os

        class WorkerOnly:
            name = "workeronly"
            estimated = False
            per_process = True

            def __init__(self):
                if os.environ.get("PYTEST_XDIST_WORKER"):
                    raise OSError("no device for this worker")

            def read(self):
                return {"cpu": 0.0}
        """,
        test_w="""
        import pytest

        @pytest.mark.energy_budget("10 J")
        def test_a():
            pass

        def test_b():
            pass
        """,
    )
    result = gb.run_sub("-n", "2", "--greenbudget-meter=workermeter:WorkerOnly")
    assert_no_crash(result)
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    text = result.stdout.str() + result.stderr.str()
    assert "node down" not in text and "crashed" not in text, text
    assert text.count("no device for this worker") == 1, text
    result.stderr.fnmatch_lines(
        ["ERROR: greenbudget: *WorkerOnly*no device for this worker*(in pytest-xdist worker gw*"]
    )
    assert " passed" not in text  # no test ran
