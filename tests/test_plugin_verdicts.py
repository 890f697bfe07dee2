"""SPEC 8: verdicts become real failures or warnings; energy never hides a real failure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

import pytest_greenbudget

BUDGETED = """
import os, pytest, fakemeter

@pytest.mark.energy_budget("10 J")
def test_over():
    fakemeter.spend(12.4)

@pytest.mark.energy_budget("10 J")
def test_within():
    fakemeter.spend(9.5)
"""

# The energy of test_x comes from the environment, so two runs can differ.
FROM_ENV = """
import os, pytest, fakemeter

@pytest.mark.energy_budget(on_exceed=os.environ.get("GB_ON_EXCEED", "fail"))
def test_x():
    fakemeter.spend(float(os.environ["GB_SPEND"]))
"""


def _junit(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {case.get("name"): case for case in root.iter("testcase")}


def _props(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_warning_class_is_public() -> None:
    assert issubclass(pytest_greenbudget.EnergyBudgetWarning, pytest.PytestWarning)
    assert pytest_greenbudget.EnergyBudgetWarning.__module__ == "pytest_greenbudget"


def test_over_budget_is_a_real_failure(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(BUDGETED)
    xml = gb.path / "junit.xml"
    result = gb.run(f"--junitxml={xml}", "-rf")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert_no_crash(result)
    result.stdout.fnmatch_lines([
        "*_ test_over _*",
        "energy budget exceeded: used 12.4 J, budget 10 J (124 %)",
    ])
    result.stdout.fnmatch_lines([
        "FAILED *::test_over - *energy budget exceeded: used 12.4 J, budget 10 J (124 %)"
    ])
    cases = _junit(xml)
    failure = cases["test_over"].find("failure")
    assert failure is not None
    assert "energy budget exceeded: used 12.4 J, budget 10 J (124 %)" in failure.get("message")
    assert cases["test_within"].find("failure") is None
    over, within = _props(cases["test_over"]), _props(cases["test_within"])
    assert over["energy_status"] == "over_budget"
    assert float(over["energy_joules"]) == pytest.approx(12.4)
    assert over["energy_budget"].startswith("10")
    assert "energy_baseline_joules" not in over
    assert within["energy_status"] == "ok"
    assert float(within["energy_joules"]) == pytest.approx(9.5)


def test_carbon_budget_junit_property(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("3 gCO2e")
        def test_c():
            fakemeter.spend(1)
        """
    )
    xml = gb.path / "junit.xml"
    gb.run(f"--junitxml={xml}").assert_outcomes(passed=1)
    props = _props(_junit(xml)["test_c"])
    assert props["energy_budget"].startswith("3") and "CO2" in props["energy_budget"]


def test_unbudgeted_measured_test_has_status_and_joules_only(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_n():
            fakemeter.spend(2)
        def test_unmeasured():
            pass
        """
    )
    xml = gb.path / "junit.xml"
    gb.run(f"--junitxml={xml}").assert_outcomes(passed=2)
    cases = _junit(xml)
    props = _props(cases["test_n"])
    assert props == {"energy_status": "new", "energy_joules": "2"}
    assert _props(cases["test_unmeasured"]) == {}


def test_warn_mode_passes_and_warns_inside_the_test(gb, assert_no_crash) -> None:
    gb.pytester.makeconftest(
        """
        def pytest_warning_recorded(warning_message, when, nodeid, location):
            if warning_message.category.__name__ == "EnergyBudgetWarning":
                with open("recorded.txt", "a") as f:
                    f.write(f"{when}|{nodeid}|{warning_message.message}\\n")
        """
    )
    gb.pytester.makepyfile(BUDGETED.replace('"10 J")', '"10 J", on_exceed="warn")'))
    xml = gb.path / "junit.xml"
    result = gb.run(f"--junitxml={xml}")
    result.assert_outcomes(passed=2, warnings=1)
    assert result.ret == 0
    assert_no_crash(result)
    recorded = (gb.path / "recorded.txt").read_text().splitlines()
    assert recorded == [
        "runtest|test_warn_mode_passes_and_warns_inside_the_test.py::test_over|"
        "test_warn_mode_passes_and_warns_inside_the_test.py::test_over: "
        "energy budget exceeded: used 12.4 J, budget 10 J (124 %)"
    ]
    cases = _junit(xml)
    assert cases["test_over"].find("failure") is None
    assert _props(cases["test_over"])["energy_status"] == "over_budget"


@pytest.mark.parametrize(
    "how",
    ["-W error::pytest_greenbudget.EnergyBudgetWarning", "-W error", "ini", "mark"],
)
def test_warnings_as_errors_fail_that_test_only(gb, assert_no_crash, how) -> None:
    source = BUDGETED.replace('"10 J")', '"10 J", on_exceed="warn")')
    args: list[str] = []
    if how.startswith("-W"):
        args = how.split(" ", 1)
    elif how == "ini":
        gb.pytester.makeini(
            "[pytest]\nfilterwarnings =\n    error::pytest_greenbudget.EnergyBudgetWarning\n"
        )
    else:
        source = source.replace(
            "def test_over", "@pytest.mark.filterwarnings('error')\ndef test_over"
        )
    gb.pytester.makepyfile(source)
    result = gb.run_sub(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    assert_no_crash(result)
    result.stdout.fnmatch_lines(["FAILED *::test_over - *EnergyBudgetWarning*124 %*"])


def test_failing_test_keeps_its_own_message(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_own_failure(energy_meter):
            with energy_meter.measure("r", budget="1 J"):
                fakemeter.spend(5)
            fakemeter.spend(20)
            assert 1 == 2, "my own failure"

        @pytest.mark.energy_budget("10 J")
        def test_own_skip():
            fakemeter.spend(20)
            pytest.skip("my own skip")

        @pytest.mark.energy_budget("10 J")
        @pytest.mark.skip(reason="skipped before the call")
        def test_skipped_early():
            fakemeter.spend(20)

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("my own teardown error")

        @pytest.mark.energy_budget("100 J")
        def test_teardown_error(broken_teardown):
            fakemeter.spend(1)
        """
    )
    result, doc = gb.run_json("-rA", "--greenbudget-save")
    result.assert_outcomes(failed=1, skipped=2, passed=1, errors=1)
    assert_no_crash(result)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["SKIPPED *my own skip*"])
    result.stdout.fnmatch_lines(["FAILED *::test_own_failure - AssertionError: my own failure"])
    # the energy verdict does not replace the test's own failure
    own = out[out.index("_ test_own_failure _"):]
    own = own[: own.index("\n_")] if "\n_" in own else own
    assert "energy budget exceeded" not in own.split("my own failure")[0]
    entries = gb.entries(doc)
    base = "test_failing_test_keeps_its_own_message.py::"
    assert entries[base + "test_own_failure"]["outcome"] == "failed"
    assert entries[base + "test_own_failure"]["status"] == "over_budget"
    assert entries[base + "test_own_failure::r"]["outcome"] == "failed"
    assert base + "test_own_skip" not in entries  # skipped in its call: no entry (SPEC 8, 15)
    assert base + "test_skipped_early" not in entries  # skipped before its call phase
    assert entries[base + "test_teardown_error"]["outcome"] == "error"
    assert entries[base + "test_teardown_error"]["status"] == "ok"
    # and none of them is saved: with nothing to save, no baseline file is written at all
    assert not (gb.path / ".greenbudget" / "baseline.json").exists()


def test_regression_fails_with_its_message(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(FROM_ENV)
    xml = gb.path / "junit.xml"
    monkeypatch.setenv("GB_SPEND", "9.8")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "12.4")
    result, doc = gb.run_json(f"--junitxml={xml}")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    message = "energy regression: used 12.4 J, baseline 9.8 J (+27 %, tolerance 10 %)"
    result.stdout.fnmatch_lines([message])
    (entry,) = doc["entries"]
    assert entry["status"] == "regressed"
    assert entry["baseline_joules"] == pytest.approx(9.8)
    assert entry["message"] == message
    props = _props(_junit(xml)["test_x"])
    assert float(props["energy_baseline_joules"]) == pytest.approx(9.8)
    assert props["energy_status"] == "regressed"


def test_regression_tolerance_min_delta_and_improvement(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(FROM_ENV)
    monkeypatch.setenv("GB_SPEND", "10")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    for spend, status, passed in [
        ("10.9", "ok", True),  # within 10 % tolerance
        ("11.5", "regressed", False),
        ("5", "improved", True),
        ("9.2", "ok", True),
    ]:
        monkeypatch.setenv("GB_SPEND", spend)
        result, doc = gb.run_json()
        assert doc["entries"][0]["status"] == status, spend
        result.assert_outcomes(**({"passed": 1} if passed else {"failed": 1}))
    monkeypatch.setenv("GB_SPEND", "5")
    _, doc = gb.run_json()
    assert "--greenbudget-save" in doc["entries"][0]["message"]

    # min_delta: +40 % but only 0.4 J more is no regression
    gb.pytester.makepyprojecttoml(
        '[tool.greenbudget]\nbaseline = "small.json"\nmin_delta = "0.5 J"\n'
    )
    monkeypatch.setenv("GB_SPEND", "1")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "1.4")
    result, doc = gb.run_json()
    assert doc["entries"][0]["status"] == "ok"
    gb.pytester.makepyprojecttoml(
        '[tool.greenbudget]\nbaseline = "small.json"\nmin_delta = "100 mJ"\n'
    )
    result, doc = gb.run_json()
    assert doc["entries"][0]["status"] == "regressed"
    result.assert_outcomes(failed=1)


def test_over_budget_takes_precedence_over_regression(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(FROM_ENV.replace("energy_budget(", 'energy_budget("20 J", '))
    monkeypatch.setenv("GB_SPEND", "1")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "25")
    result, doc = gb.run_json()
    assert doc["entries"][0]["status"] == "over_budget"
    result.stdout.fnmatch_lines(["energy budget exceeded: used 25 J, budget 20 J (125 %)"])


def test_saving_run_reports_but_does_not_fail_a_regression(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(FROM_ENV)
    monkeypatch.setenv("GB_SPEND", "10")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "20")
    result, doc = gb.run_json("--greenbudget-save")
    result.assert_outcomes(passed=1)
    assert doc["entries"][0]["status"] == "regressed"


def test_regression_in_warn_mode_warns(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(FROM_ENV)
    monkeypatch.setenv("GB_SPEND", "10")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "20")
    monkeypatch.setenv("GB_ON_EXCEED", "warn")
    result = gb.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*EnergyBudgetWarning*energy regression: used 20 J, baseline 10 J*"]
    )


BREAKING = """
import pytest, fakemeter

@pytest.mark.energy_budget("10 J")
def test_before():
    fakemeter.spend(1)

@pytest.mark.energy_budget("10 J")
def test_breaks():
    fakemeter.breaks()

@pytest.mark.energy_budget("10 J")
def test_fails_on_its_own():
    assert 0, "own"

def test_region(energy_meter):
    with energy_meter.measure("r") as r:
        pass
    assert r.error is not None

@pytest.mark.energy_budget("10 J")
def test_after():
    fakemeter.spend(1)
"""


def test_meter_raising_leaves_entries_unmeasured(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(BREAKING)
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=4, failed=1, warnings=1)
    assert result.ret == 1
    assert_no_crash(result)
    entries = gb.entries(doc)
    base = "test_meter_raising_leaves_entries_unmeasured.py::"
    assert entries[base + "test_before"]["status"] == "ok"
    for name in ("test_breaks", "test_fails_on_its_own", "test_region::r", "test_after"):
        entry = entries[base + name]
        assert entry["status"] == "unmeasured", name
        assert entry["joules"] is None
        assert "sensor unplugged" in entry["message"]
    assert entries[base + "test_fails_on_its_own"]["outcome"] == "failed"
    # one warning for the meter, with what broke and how many entries it cost
    out = result.stdout.str()
    assert out.count("sensor unplugged -- ") == 1, out
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning*meter 'fake'*sensor unplugged*4 entries*"])


def test_meter_raising_under_warnings_as_errors_does_not_crash(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(BREAKING)
    result = gb.run_sub("-W", "error::pytest_greenbudget.EnergyBudgetWarning")
    assert_no_crash(result)
    result.assert_outcomes(passed=4, failed=1, warnings=1)
    assert result.ret == 1
    # the session-level warning is still reported, not swallowed
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning*sensor unplugged -- 4 entries*"])


def test_saving_run_still_enforces_budgets(gb) -> None:
    gb.pytester.makepyfile(BUDGETED)
    result = gb.run("--greenbudget-save")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    saved = json.loads((gb.path / ".greenbudget" / "baseline.json").read_text())
    (profile,) = saved["profiles"].values()
    assert list(profile["entries"]) == ["test_saving_run_still_enforces_budgets.py::test_within"]


def test_xpass_outcome_is_pytests_outcome(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.xfail(reason="maybe")
        @pytest.mark.energy_budget("10 J")
        def test_xpass():
            fakemeter.spend(1)

        @pytest.mark.xfail(reason="maybe")
        @pytest.mark.energy_budget("10 J")
        def test_xfail():
            fakemeter.spend(1)
            assert 0
        """
    )
    result, doc = gb.run_json("-rxX")
    result.assert_outcomes(xpassed=1, xfailed=1)
    outcomes = {e["id"].split("::")[-1]: e["outcome"] for e in doc["entries"]}
    assert "test_xfail" not in outcomes  # xfailed in its call: no entry (SPEC 8, 15)
    assert outcomes["test_xpass"] == "passed"  # pytest's outcome of an xpass
