"""SPEC 10: the ``energy_meter`` fixture and its regions."""

from __future__ import annotations

import pytest


def test_region_result_numbers_after_the_block(gb) -> None:
    gb.pytester.makepyfile(
        """
        import math, pytest, fakemeter
        def test_r(energy_meter):
            with energy_meter.measure("fp32") as fp32:
                fakemeter.spend(3)
            with energy_meter.measure("int8") as int8:
                fakemeter.spend(1)
            assert fp32.joules == pytest.approx(3)
            assert int8.joules == pytest.approx(1)
            assert int8.joules < 0.7 * fp32.joules
            assert fp32.domains == {"cpu": pytest.approx(3)}
            assert fp32.co2_grams == pytest.approx(3 / 3.6e6 * 475)
            assert fp32.seconds >= 0 and math.isfinite(fp32.seconds)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    # an unmarked test: its regions are entries, the test itself is not
    assert [e["id"] for e in doc["entries"]] == [
        "test_region_result_numbers_after_the_block.py::test_r::fp32",
        "test_region_result_numbers_after_the_block.py::test_r::int8",
    ]
    assert [e["status"] for e in doc["entries"]] == ["new", "new"]
    assert [e["outcome"] for e in doc["entries"]] == ["passed", "passed"]
    assert doc["totals"]["joules"] == 0  # regions are not tests


def test_region_budgets_and_verdicts(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        def test_fail(energy_meter):
            with energy_meter.measure("big", budget="5 J"):
                fakemeter.spend(6.2)
            with energy_meter.measure("fine", budget="5 J"):
                fakemeter.spend(1)

        def test_warn(energy_meter):
            with energy_meter.measure("big", budget="5 J", on_exceed="warn"):
                fakemeter.spend(6.2)

        def test_carbon(energy_meter):
            with energy_meter.measure("c", budget="1 mgCO2e"):
                fakemeter.spend(12.4)
        """
    )
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=1, failed=2, warnings=1)
    assert result.ret == 1
    assert_no_crash(result)
    entries = gb.entries(doc)
    base = "test_region_budgets_and_verdicts.py::"
    assert entries[base + "test_fail::big"]["status"] == "over_budget"
    assert entries[base + "test_fail::big"]["outcome"] == "failed"
    assert entries[base + "test_fail::fine"]["status"] == "ok"
    assert entries[base + "test_warn::big"]["status"] == "over_budget"
    assert entries[base + "test_warn::big"]["outcome"] == "passed"
    assert entries[base + "test_carbon::c"]["budget"] == {"co2_grams": pytest.approx(0.001)}
    result.stdout.fnmatch_lines(["big: energy budget exceeded: used 6.2 J, budget 5 J (124 %)"])
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning*energy budget exceeded: used 6.2 J*"])


def test_region_on_exceed_defaults_to_the_test_settings(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget(on_exceed="warn")
        def test_marker_warn(energy_meter):
            with energy_meter.measure("r", budget="1 J"):
                fakemeter.spend(2)

        @pytest.mark.energy_budget(on_exceed="warn")
        def test_region_overrides(energy_meter):
            with energy_meter.measure("r", budget="1 J", on_exceed="fail"):
                fakemeter.spend(2)
        """
    )
    result = gb.run("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(["FAILED *::test_region_overrides - *r: energy budget exceeded*"])

    gb.pytester.makepyprojecttoml('[tool.greenbudget]\non_exceed = "warn"\n')
    gb.pytester.makepyfile(
        """
        import fakemeter
        def test_table_warn(energy_meter):
            with energy_meter.measure("r", budget="1 J"):
                fakemeter.spend(2)
        """
    )
    result = gb.run("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=1, warnings=1)


def test_region_tolerance_defaults_to_the_test_tolerance(gb, monkeypatch) -> None:
    gb.pytester.makepyfile(
        """
        import os, pytest, fakemeter
        @pytest.mark.energy_budget(tolerance=0.5)
        def test_t(energy_meter):
            spend = float(os.environ["GB_SPEND"])
            with energy_meter.measure("loose"):
                fakemeter.spend(spend)
            with energy_meter.measure("tight", tolerance=0.1):
                fakemeter.spend(spend)
        """
    )
    monkeypatch.setenv("GB_SPEND", "10")
    gb.run("--greenbudget-save").assert_outcomes(passed=1)
    monkeypatch.setenv("GB_SPEND", "13")  # +30 %
    result, doc = gb.run_json()
    result.assert_outcomes(failed=1)
    statuses = {e["id"].rsplit("::", 1)[1]: e["status"] for e in doc["entries"]}
    assert statuses == {"test_t": "ok", "loose": "ok", "tight": "regressed"}
    result.stdout.fnmatch_lines(
        ["*tight: energy regression: used 13 J, baseline 10 J (+30 %, tolerance 10 %)*"]
    )


def test_default_budget_and_patterns_do_not_apply_to_regions(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        default_budget = "1 J"
        measure_all = true

        [tool.greenbudget.budgets]
        "*" = "2 J"
        "*::test_x::r" = "1 J"
        """
    )
    gb.pytester.makepyfile(
        """
        import fakemeter
        def test_x(energy_meter):
            with energy_meter.measure("r") as r:
                fakemeter.spend(1.5)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(passed=1)
    entries = gb.entries(doc)
    region = entries["test_default_budget_and_patterns_do_not_apply_to_regions.py::test_x::r"]
    assert region["budget"] is None and region["status"] == "new"
    test = entries["test_default_budget_and_patterns_do_not_apply_to_regions.py::test_x"]
    assert test["budget"] == {"joules": 2.0} and test["status"] == "ok"


def test_bad_region_arguments_raise_in_the_test(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        """
        import pytest
        @pytest.mark.parametrize("name, kwargs", [
            ("", {}),
            ("a::b", {}),
            ("r", {"budget": "5 Jx"}),
            ("r", {"budget": "5 J", "on_exceed": "nope"}),
            ("r", {"budget": "5 J", "tolerance": -1}),
        ])
        def test_bad(energy_meter, name, kwargs):
            with pytest.raises(ValueError) as info:
                with energy_meter.measure(name, **kwargs):
                    pass
            shown = repr(name) if not kwargs else repr(list(kwargs.values())[-1])
            assert shown in str(info.value) or shown.strip("'") in str(info.value)
        """
    )
    result = gb.run()
    result.assert_outcomes(passed=5)
    assert_no_crash(result)


def test_fixture_under_off_returns_numbers_and_reports_nothing(gb) -> None:
    gb.pytester.makepyfile(
        """
        import math, time, pytest
        @pytest.mark.energy_budget("1 mJ")
        def test_r(energy_meter):
            with energy_meter.measure("busy", budget="0 J") as r:
                end = time.process_time() + 0.02
                while time.process_time() < end:
                    pass
            for value in (r.joules, r.seconds, r.co2_grams):
                assert isinstance(value, float) and math.isfinite(value), r
            assert r.joules > 0 and r.seconds > 0
            assert r.domains and all(math.isfinite(v) for v in r.domains.values())
        """
    )
    out = gb.path / "off.json"
    result = gb.run("--greenbudget-off", f"--greenbudget-json={out}", "--greenbudget-save")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert "energy" not in result.stdout.str().lower()
    assert not out.exists()
    assert not (gb.path / ".greenbudget").exists()


def test_fixture_works_in_unmarked_tests_with_all_and_without(gb) -> None:
    gb.pytester.makepyfile(
        """
        import fakemeter
        def test_u(energy_meter):
            fakemeter.spend(1)
            with energy_meter.measure("r"):
                fakemeter.spend(2)
        """
    )
    _, doc = gb.run_json("--greenbudget-all")
    joules = {e["id"].split("::", 1)[1]: e["joules"] for e in doc["entries"]}
    assert joules == {"test_u": pytest.approx(3), "test_u::r": pytest.approx(2)}
    assert doc["totals"]["joules"] == pytest.approx(3)
