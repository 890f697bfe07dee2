"""SPEC 2/3: rounds and warm-up (fixtures set up once, median of rounds) and ``phases``."""

from __future__ import annotations

import pytest

COUNTING = """
import pytest, fakemeter

@pytest.fixture
def counted():
    with open("setups.txt", "a") as f:
        f.write("s")
    yield
    with open("teardowns.txt", "a") as f:
        f.write("t")

{marker}
def test_r(counted, energy_meter):
    with open("calls.txt", "a") as f:
        f.write("c")
    with energy_meter.measure("region"):
        fakemeter.spend_seq("region-seq.txt", {region})
    fakemeter.spend_seq("body-seq.txt", {body})
"""


def _count(gb, name: str) -> int:
    path = gb.path / name
    return len(path.read_text()) if path.exists() else 0


def test_rounds_and_warmup_from_the_marker(gb) -> None:
    gb.pytester.makepyfile(
        COUNTING.format(
            marker='@pytest.mark.energy_budget("100 J", rounds=3, warmup=2)',
            region=[50, 50, 1, 9, 5],
            body=[100, 100, 10, 90, 50],
        )
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert _count(gb, "setups.txt") == 1
    assert _count(gb, "teardowns.txt") == 1
    assert _count(gb, "calls.txt") == 5
    test, region = doc["entries"]
    # measured rounds: test 11, 99, 55 (body + region) -> median 55; region 1, 9, 5 -> 5
    assert test["joules"] == pytest.approx(55)
    assert test["rounds"] == 3
    assert test["status"] == "ok"
    assert region["id"].endswith("::test_r::region")
    assert region["joules"] == pytest.approx(5)
    assert region["rounds"] == 3
    result.stdout.fnmatch_lines(["*::test_r *55 J (median of 3)*"])


def test_even_number_of_rounds(gb) -> None:
    gb.pytester.makepyfile(
        COUNTING.format(
            marker='@pytest.mark.energy_budget("10 J", rounds=2)',
            region=[0, 0],
            body=[4, 12],
        )
    )
    result, doc = gb.run_json()
    assert _count(gb, "calls.txt") == 2
    assert doc["entries"][0]["joules"] == pytest.approx(8)
    result.assert_outcomes(passed=1)


def test_median_breaks_the_budget(gb) -> None:
    gb.pytester.makepyfile(
        COUNTING.format(
            marker='@pytest.mark.energy_budget("10 J", rounds=3)',
            region=[0, 0, 0],
            body=[1, 50, 12.4],
        )
    )
    result = gb.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["energy budget exceeded: used 12.4 J, budget 10 J (124 %)"])


def test_rounds_and_warmup_from_the_table_and_patterns(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        rounds = 2
        warmup = 1

        [tool.greenbudget.budgets]
        "*::test_p" = { rounds = 4, warmup = 0 }
        """
    )
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        def _log(name):
            with open(name, "a") as f:
                f.write("c")
        @pytest.mark.energy_budget()
        def test_t():
            _log("t.txt")
        def test_p():
            _log("p.txt")
        @pytest.mark.energy_budget(rounds=1)
        def test_m():
            _log("m.txt")
        def test_unmeasured():
            _log("u.txt")
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=4)
    assert _count(gb, "t.txt") == 3  # 1 warm-up + 2 rounds
    assert _count(gb, "p.txt") == 4  # the pattern's settings
    assert _count(gb, "m.txt") == 2  # 1 warm-up (table) + the marker's 1 round
    assert _count(gb, "u.txt") == 1  # an unmeasured test runs once
    assert {e["id"].split("::")[1]: e["rounds"] for e in doc["entries"]} == {
        "test_t": 2, "test_p": 4, "test_m": 1,
    }


PHASES = """
import pytest, fakemeter

@pytest.fixture
def costly():
    fakemeter.spend(1)
    yield
    fakemeter.spend(4)

@pytest.mark.energy_budget("5 J"{extra})
def test_p(costly):
    fakemeter.spend_seq("seq.txt", {body})
"""


def test_phases_call_measures_only_the_call(gb) -> None:
    gb.pytester.makepyfile(PHASES.format(extra="", body=[2]))
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert doc["entries"][0]["joules"] == pytest.approx(2)


def test_phases_all_fails_on_teardown(gb, assert_no_crash) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\n')
    gb.pytester.makepyfile(PHASES.format(extra="", body=[2]))
    xml = gb.path / "junit.xml"
    result, doc = gb.run_json(f"--junitxml={xml}")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == 1
    assert_no_crash(result)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_p*",
        "energy budget exceeded: used 7 J, budget 5 J (140 %)",
    ])
    (entry,) = doc["entries"]
    assert entry["joules"] == pytest.approx(7)
    assert entry["status"] == "over_budget"
    text = xml.read_text()
    assert 'name="energy_status" value="over_budget"' in text
    assert "energy budget exceeded" in text


def test_phases_all_with_rounds(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\n')
    gb.pytester.makepyfile(
        PHASES.format(extra=", rounds=3, warmup=1", body=[100, 1, 9, 5]).replace('"5 J"', '"50 J"')
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    assert doc["entries"][0]["joules"] == pytest.approx(1 + 5 + 4)


def test_phases_all_warns_inside_the_test(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\non_exceed = "warn"\n')
    gb.pytester.makeconftest(
        """
        def pytest_warning_recorded(warning_message, when, nodeid, location):
            with open("recorded.txt", "a") as f:
                f.write(f"{when}|{nodeid}|{warning_message.category.__name__}\\n")
        """
    )
    gb.pytester.makepyfile(PHASES.format(extra="", body=[2]))
    result = gb.run()
    result.assert_outcomes(passed=1, warnings=1)
    assert (gb.path / "recorded.txt").read_text().splitlines() == [
        "runtest|test_phases_all_warns_inside_the_test.py::test_p|EnergyBudgetWarning"
    ]
    (gb.path / "seq.txt").unlink()
    result = gb.run("-W", "error::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=1, errors=1)  # the warning is raised in the teardown
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_p*"])


def test_phases_all_keeps_an_own_teardown_error(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nphases = "all"\n')
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.fixture
        def fx():
            yield
            fakemeter.spend(20)
            raise RuntimeError("my own teardown error")

        @pytest.mark.energy_budget("10 J")
        def test_t(fx):
            pass
        """
    )
    xml = gb.path / "junit.xml"
    result = gb.run("-rE", f"--junitxml={xml}")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["ERROR *::test_t - RuntimeError: my own teardown error"])
    assert 'message="failed on teardown with &quot;RuntimeError: my own teardown' in (
        xml.read_text()
    )
