"""SPEC 2 (the marker) and SPEC 4 (quantities, as seen through the marker)."""

from __future__ import annotations

import re

import pytest

SIGNATURE = (
    "@pytest.mark.energy_budget(budget=None, *, tolerance=None, on_exceed=None, "
    "rounds=None, warmup=None)"
)


@pytest.mark.parametrize("extra", [[], ["--greenbudget-off"]])
def test_marker_is_registered(gb, extra) -> None:
    result = gb.run("--markers", *extra)
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"{SIGNATURE}*"])


def test_strict_markers_accepts_the_marker(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_x():
            fakemeter.spend(1)
        """
    )
    # in a subprocess: in process, pytest.mark remembers the outer session's markers
    result = gb.run_sub("--strict-markers", "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert_no_crash(result)


def test_positional_keyword_and_plain_numbers(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J")
        def test_positional():
            fakemeter.spend(12.4)
        @pytest.mark.energy_budget(budget="10 J")
        def test_keyword():
            fakemeter.spend(12.4)
        @pytest.mark.energy_budget(10)
        def test_int():
            fakemeter.spend(12.4)
        @pytest.mark.energy_budget(10.0)
        def test_float():
            fakemeter.spend(9.5)
        @pytest.mark.energy_budget(budget=20)
        def test_kw_int():
            fakemeter.spend(9.5)
        """
    )
    result, doc = gb.run_json("-q")
    result.assert_outcomes(passed=2, failed=3)
    assert result.ret == 1
    entries = gb.entries(doc)
    base = "test_positional_keyword_and_plain_numbers.py::"
    for name, status, budget in [
        ("test_positional", "over_budget", 10.0),
        ("test_keyword", "over_budget", 10.0),
        ("test_int", "over_budget", 10.0),
        ("test_float", "ok", 10.0),
        ("test_kw_int", "ok", 20.0),
    ]:
        entry = entries[base + name]
        assert entry["status"] == status, entry
        assert entry["budget"] == {"joules": budget}
        assert entry["joules"] == pytest.approx(12.4 if status == "over_budget" else 9.5)
    result.stdout.fnmatch_lines(
        ["*energy budget exceeded: used 12.4 J, budget 10 J (124 %)*"]
    )


def test_marker_without_budget_is_measured_and_new(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_x():
            fakemeter.spend(1000)
        def test_unmarked():
            fakemeter.spend(1000)
        """
    )
    result, doc = gb.run_json("-q")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert [e["id"] for e in doc["entries"]] == [
        "test_marker_without_budget_is_measured_and_new.py::test_x"
    ]
    (entry,) = doc["entries"]
    assert entry["status"] == "new"
    assert entry["budget"] is None
    assert entry["joules"] == pytest.approx(1000)


def test_marker_without_budget_takes_default_budget(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        default_budget = "5 J"
        """
    )
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_x():
            fakemeter.spend(6)
        @pytest.mark.energy_budget(None, rounds=1)
        def test_y():
            fakemeter.spend(4)
        """
    )
    result, doc = gb.run_json("-q")
    result.assert_outcomes(passed=1, failed=1)
    entries = gb.entries(doc)
    x = entries["test_marker_without_budget_takes_default_budget.py::test_x"]
    assert x["budget"] == {"joules": 5.0}
    assert x["status"] == "over_budget"
    assert entries["test_marker_without_budget_takes_default_budget.py::test_y"]["status"] == "ok"
    result.stdout.fnmatch_lines(["*energy budget exceeded: used 6 J, budget 5 J (120 %)*"])


def test_marker_on_class_and_module_and_closest_wins(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        pytestmark = pytest.mark.energy_budget("100 J")

        def test_module_level():
            fakemeter.spend(50)

        @pytest.mark.energy_budget("20 J")
        class TestC:
            def test_class_level(self):
                fakemeter.spend(30)

            @pytest.mark.energy_budget("40 J")
            def test_own(self):
                fakemeter.spend(30)
        """
    )
    result, doc = gb.run_json("-q")
    entries = gb.entries(doc)
    base = "test_marker_on_class_and_module_and_closest_wins.py::"
    assert entries[base + "test_module_level"]["budget"] == {"joules": 100.0}
    assert entries[base + "test_module_level"]["status"] == "ok"
    assert entries[base + "TestC::test_class_level"]["budget"] == {"joules": 20.0}
    assert entries[base + "TestC::test_class_level"]["status"] == "over_budget"
    assert entries[base + "TestC::test_own"]["budget"] == {"joules": 40.0}
    assert entries[base + "TestC::test_own"]["status"] == "ok"
    result.assert_outcomes(passed=2, failed=1)


# -- SPEC 4: quantities --------------------------------------------------------------

UNITS = [
    ("12 J", {"joules": 12.0}),
    ("12J", {"joules": 12.0}),
    ("  12   J ", {"joules": 12.0}),
    ("500 mJ", {"joules": 0.5}),
    ("1.5 kJ", {"joules": 1500.0}),
    ("2 MJ", {"joules": 2e6}),
    ("2 Wh", {"joules": 7200.0}),
    ("5 mWh", {"joules": 18.0}),
    ("1 kWh", {"joules": 3.6e6}),
    ("1e3 J", {"joules": 1000.0}),
    ("2.5E-1 kJ", {"joules": 250.0}),
    ("0 J", {"joules": 0.0}),
    ("3 gCO2e", {"co2_grams": 3.0}),
    ("3 mgCO2e", {"co2_grams": 0.003}),
    ("3 kgCO2e", {"co2_grams": 3000.0}),
    ("3 gCO2eq", {"co2_grams": 3.0}),
    ("3 mgCO2eq", {"co2_grams": 0.003}),
    ("3 kgCO2eq", {"co2_grams": 3000.0}),
    (7, {"joules": 7.0}),
    (0.25, {"joules": 0.25}),
    (0, {"joules": 0.0}),
]


def test_units_in_the_marker(gb) -> None:
    lines = ["import pytest", ""]
    for i, (raw, _) in enumerate(UNITS):
        lines += [f"@pytest.mark.energy_budget({raw!r})", f"def test_u{i}():", "    pass", ""]
    gb.pytester.makepyfile(test_units="\n".join(lines))
    result, doc = gb.run_json("-q")
    result.assert_outcomes(passed=len(UNITS))
    entries = gb.entries(doc)
    for i, (raw, budget) in enumerate(UNITS):
        entry = entries[f"test_units.py::test_u{i}"]
        assert entry["budget"].keys() == budget.keys(), raw
        (key,) = budget
        assert entry["budget"][key] == pytest.approx(budget[key]), raw
        assert entry["status"] == "ok", raw  # nothing spent: within even a zero budget


def test_units_are_case_sensitive_and_zero_budget_breaks(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 mJ")
        def test_milli():
            fakemeter.spend(1)
        @pytest.mark.energy_budget("10 MJ")
        def test_mega():
            fakemeter.spend(1)
        @pytest.mark.energy_budget("0 J")
        def test_zero():
            fakemeter.spend(0.001)
        """
    )
    result, doc = gb.run_json("-q")
    entries = gb.entries(doc)
    base = "test_units_are_case_sensitive_and_zero_budget_breaks.py::"
    assert entries[base + "test_milli"]["status"] == "over_budget"
    assert entries[base + "test_mega"]["status"] == "ok"
    assert entries[base + "test_zero"]["status"] == "over_budget"
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*energy budget exceeded: used 1 J, budget 10 mJ (10000 %)*"])


def test_carbon_budget_uses_the_carbon_intensity(gb) -> None:
    # 12.4 J at 475 g/kWh = 1.636 mg; at 100 g/kWh = 0.344 mg.
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("1 mgCO2e")
        def test_carbon():
            fakemeter.spend(12.4)
        """
    )
    result, doc = gb.run_json("-q")
    result.assert_outcomes(failed=1)
    (entry,) = doc["entries"]
    assert entry["status"] == "over_budget"
    assert entry["budget"] == {"co2_grams": pytest.approx(0.001)}
    assert entry["co2_grams"] == pytest.approx(12.4 / 3.6e6 * 475)
    result.stdout.fnmatch_lines(["*carbon budget exceeded*"])

    gb.pytester.makepyprojecttoml("[tool.greenbudget]\ncarbon_intensity = 100\n")
    result, doc = gb.run_json("-q")
    result.assert_outcomes(passed=1)
    (entry,) = doc["entries"]
    assert entry["status"] == "ok"
    assert entry["co2_grams"] == pytest.approx(12.4 / 3.6e6 * 100)
    assert doc["carbon_intensity_g_per_kwh"] == 100


BAD_MARKERS = [
    ('"5 Jx"', "5 Jx"),
    ('"-5 J"', "-5 J"),
    ("-5", "-5"),
    ('"nan J"', "nan J"),
    ('"inf J"', "inf J"),
    ('float("nan")', "nan"),
    ('float("inf")', "inf"),
    ('"10 j"', "10 j"),
    ('"10"', "'10'"),
    ('"J"', "'J'"),
    ("True", "True"),
    ("[10]", "[10]"),
    ('"10 J", tolerance=-0.1', "-0.1"),
    ('"10 J", tolerance="10%"', "10%"),
    ('"10 J", on_exceed="explode"', "explode"),
    ('"10 J", rounds=0', "rounds"),
    ('"10 J", rounds=1.5', "1.5"),
    ('"10 J", rounds="3"', "'3'"),
    ('"10 J", warmup=-1', "warmup"),
    ('"10 J", warmup=True', "warmup"),
    ('"10 J", budgte="5 J"', "budgte"),
    ('"10 J", "20 J"', "energy_budget"),
    ("10**400", "10000000000"),
    ('"1e400 J"', "1e400 J"),
    ('"10 J", tolerance=10**400', "finite"),
    ('"10 J", tolerance=float("nan")', "nan"),
    ("object()", "object"),
    ('b"10 J"', "b'10 J'"),
    ('"10 J", on_exceed=None, rounds=[2]', "[2]"),
]


def test_bad_marker_arguments_error_that_test_only(gb, assert_no_crash) -> None:
    lines = ["import pytest, fakemeter", ""]
    for i, (args, _) in enumerate(BAD_MARKERS):
        lines += [
            f"@pytest.mark.energy_budget({args})",
            f"def test_bad{i}():",
            f"    open('ran-{i}', 'w').close()",
            "",
        ]
    lines += [
        '@pytest.mark.energy_budget("10 J")',
        "def test_good():",
        "    fakemeter.spend(1)",
    ]
    gb.pytester.makepyfile(test_bad="\n".join(lines))
    result, doc = gb.run_json("-rE")
    result.assert_outcomes(passed=1, errors=len(BAD_MARKERS))
    assert result.ret == 1
    assert_no_crash(result)
    assert not list(gb.path.glob("ran-*")), "a body ran despite its bad marker"
    out = result.stdout.str()
    for i, (_, shown) in enumerate(BAD_MARKERS):
        # the error names the test, its marker and the bad value
        match = re.search(rf"ERROR at setup of test_bad{i} _+\n(.*?)\n(?:_|=)", out, re.S)
        assert match, f"no setup error for test_bad{i}"
        text = match.group(1)
        assert f"test_bad{i}" in text and "energy_budget" in text, text
        assert shown in text, (shown, text)
    assert [e["id"] for e in doc["entries"]] == ["test_bad.py::test_good"]


def test_bad_marker_error_comes_before_fixtures(gb) -> None:
    gb.pytester.makepyfile(
        """
        import pytest
        @pytest.fixture
        def fx():
            open("fixture-ran", "w").close()
        @pytest.mark.energy_budget("5 parsecs")
        def test_x(fx):
            pass
        """
    )
    result = gb.run("-q")
    result.assert_outcomes(errors=1)
    assert not (gb.path / "fixture-ran").exists()
    result.stdout.fnmatch_lines(["*test_x*energy_budget*5 parsecs*"])
