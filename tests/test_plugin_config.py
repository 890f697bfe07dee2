"""SPEC 3 (``[tool.greenbudget]``) and SPEC 6 (command-line options), end to end."""

from __future__ import annotations

import json
import textwrap

import pytest

OPTIONS = [
    "--greenbudget-config=PATH",
    "--greenbudget-meter=SPEC",
    "--greenbudget-off",
    "--greenbudget-all",
    "--greenbudget-warn-only",
    "--greenbudget-save",
    "--greenbudget-profile=NAME",
    "--greenbudget-json=PATH",
    "--greenbudget-markdown=PATH",
]

SPEND = """
import pytest, fakemeter

@pytest.mark.energy_budget("10 J")
def test_marked():
    fakemeter.spend(12.4)

def test_unmarked():
    fakemeter.spend(3)
"""


def test_help_lists_the_greenbudget_group(gb) -> None:
    result = gb.run("--help")
    assert result.ret == 0
    out = result.stdout.str()
    assert "greenbudget" in out.lower()
    section = out[out.index("energy and carbon budgets") :]
    for option in OPTIONS:
        assert option in section, option


def test_help_works_with_a_broken_table(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nnot_a_key = 1\ndefault_budget = "5 Jx"\n')
    result = gb.run("--help")
    assert result.ret == 0
    assert "--greenbudget-off" in result.stdout.str()


def test_pyproject_in_rootdir_is_read(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        default_budget = "5 J"
        measure_all = true
        on_exceed = "fail"
        """
    )
    gb.pytester.makepyfile(SPEND)
    result, doc = gb.run_json("-q")
    entries = gb.entries(doc)
    unmarked = entries["test_pyproject_in_rootdir_is_read.py::test_unmarked"]
    assert unmarked["budget"] == {"joules": 5.0}
    assert unmarked["status"] == "ok"
    assert entries["test_pyproject_in_rootdir_is_read.py::test_marked"]["budget"] == {
        "joules": 10.0
    }
    result.assert_outcomes(passed=1, failed=1)


def test_config_option_is_relative_to_the_invocation_dir(gb, monkeypatch) -> None:
    root = gb.path
    (root / "pyproject.toml").write_text('[tool.greenbudget]\ndefault_budget = "100 J"\n')
    (root / "gb.toml").write_text('[tool.greenbudget]\ndefault_budget = "1000 J"\n')
    sub = root / "sub"
    sub.mkdir()
    (sub / "gb.toml").write_text('[tool.greenbudget]\ndefault_budget = "1 J"\n')
    (sub / "test_cfg.py").write_text(
        "import pytest, fakemeter\n"
        "@pytest.mark.energy_budget()\n"
        "def test_x():\n"
        "    fakemeter.spend(5)\n"
    )
    monkeypatch.chdir(sub)
    result, doc = gb.run_json("--greenbudget-config=gb.toml", "-q")
    (entry,) = doc["entries"]
    assert entry["id"] == "sub/test_cfg.py::test_x"  # rootdir is the pyproject's folder
    assert entry["budget"] == {"joules": 1.0}  # sub/gb.toml, not rootdir/gb.toml
    result.assert_outcomes(failed=1)


def test_config_option_replaces_pyproject(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\ndefault_budget = "1 J"\n')
    (gb.path / "other.toml").write_text(
        '[tool.greenbudget]\ndefault_budget = "50 J"\nmeasure_all = true\n'
    )
    gb.pytester.makepyfile(SPEND)
    result, doc = gb.run_json("--greenbudget-config=other.toml", "-q")
    entries = gb.entries(doc)
    assert entries["test_config_option_replaces_pyproject.py::test_unmarked"]["budget"] == {
        "joules": 50.0
    }
    result.assert_outcomes(passed=1, failed=1)


def test_missing_config_file_is_a_usage_error(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(SPEND)
    result = gb.run("--greenbudget-config=nope/missing.toml")
    assert result.ret == 4
    assert_no_crash(result)
    assert "missing.toml" in result.stderr.str()
    assert "passed" not in result.stdout.str()


# -- usage errors in the table -------------------------------------------------------

BAD_TABLES = [
    ('defualt_budget = "5 J"', "defualt_budget", "default_budget"),
    ('on_exceed = "explode"', "on_exceed", "explode"),
    ('default_budget = "5 Jx"', "default_budget", "5 Jx"),
    ('default_budget = "-5 J"', "default_budget", "-5 J"),
    ("default_budget = true", "default_budget", "True"),
    ("tolerance = -1", "tolerance", "-1"),
    ('tolerance = "10%"', "tolerance", "10%"),
    ('min_delta = "1 gCO2e"', "min_delta", "1 gCO2e"),
    ('carbon_intensity = "high"', "carbon_intensity", "high"),
    ("carbon_intensity = -3", "carbon_intensity", "-3"),
    ('country = "XXX"', "country", "XXX"),
    ('country = "KOR"\ncarbon_intensity = 100', "country", "carbon_intensity"),
    ("rounds = 0", "rounds", "0"),
    ("rounds = 1.5", "rounds", "1.5"),
    ("warmup = -1", "warmup", "-1"),
    ('phases = "some"', "phases", "some"),
    ('measure_all = "yes"', "measure_all", "yes"),
    ("cpu_tdp_watts = 0", "cpu_tdp_watts", "0"),
    ("meter = 5", "meter", "5"),
    ("meter = []", "meter", "[]"),
    ('meter = "bogus"', "meter", "bogus"),
    ('meter = ["fakemeter:FakeMeter", ""]', "meter", "''"),
    ("baseline = 5", "baseline", "5"),
    ('budgets = "x"', "budgets", "x"),
    ('[tool.greenbudget.budgets]\n"test_*" = true', "test_*", "True"),
    ('[tool.greenbudget.budgets]\n"test_*" = [1]', "test_*", "[1]"),
    ('[tool.greenbudget.budgets]\n"test_*" = "5 Jx"', "test_*", "5 Jx"),
    ('[tool.greenbudget.budgets]\n"test_*" = { budgte = "1 J" }', "budgte", "budget"),
    ('[tool.greenbudget.budgets]\n"test_*" = { rounds = 0 }', "rounds", "test_*"),
    ('[tool.greenbudget.budgets]\n"test_*" = { on_exceed = "boom" }', "on_exceed", "boom"),
]


@pytest.mark.parametrize(("body", "key", "detail"), BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_table_errors_are_usage_errors(gb, assert_no_crash, body, key, detail) -> None:
    path = gb.pytester.makepyprojecttoml("[tool.greenbudget]\n" + body + "\n")
    gb.pytester.makepyfile("def test_x():\n    open('ran', 'w').close()\n")
    if key == "meter":  # the table's own meter setting, not the fake meter's option
        result = gb.pytester.runpytest("-p", "no:hypothesispytest")
    else:
        result = gb.run()
    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    assert_no_crash(result)
    assert not (gb.path / "ran").exists(), "a test ran before the usage error"
    err = result.stderr.str()
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, err
    assert str(path) in err or "pyproject.toml" in err, err
    assert key in err, err
    assert detail in err, err


def test_wrong_typed_meter_is_an_error_even_when_the_option_overrides_it(gb) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\nmeter = 5\n")
    gb.pytester.makepyfile("def test_x():\n    pass\n")
    result = gb.run()
    assert result.ret == 4


def test_unknown_key_suggests_the_closest(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\ntolerence = 0.2\n')
    result = gb.run()
    assert result.ret == 4
    assert "did you mean 'tolerance'" in result.stderr.str()


def test_invalid_toml_is_a_usage_error(gb, assert_no_crash) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\nmeter = \n")
    result = gb.run()
    assert result.ret == 4
    assert_no_crash(result)
    assert "pyproject.toml" in result.stderr.str()


def test_bad_table_in_config_option_names_that_file(gb) -> None:
    (gb.path / "my.toml").write_text('[tool.greenbudget]\nrounds = "x"\n')
    result = gb.run("--greenbudget-config=my.toml")
    assert result.ret == 4
    assert "my.toml" in result.stderr.str()
    assert "rounds" in result.stderr.str()


def test_integers_accepted_where_floats_are(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        tolerance = 0
        carbon_intensity = 100
        min_delta = 1
        default_budget = 10
        cpu_tdp_watts = 100
        measure_all = true
        """
    )
    gb.pytester.makepyfile(SPEND)
    result, doc = gb.run_json("-q")
    assert doc["carbon_intensity_g_per_kwh"] == 100
    result.assert_outcomes(passed=1, failed=1)


def test_country_sets_the_intensity_from_codecarbon_data(gb) -> None:
    from pytest_greenbudget.carbon import country_intensity

    gb.pytester.makepyprojecttoml('[tool.greenbudget]\ncountry = "FRA"\n')
    gb.pytester.makepyfile(SPEND)
    result, doc = gb.run_json("-q")
    assert doc["carbon_intensity_g_per_kwh"] == pytest.approx(country_intensity("FRA"))
    assert doc["carbon_intensity_g_per_kwh"] != 475
    (entry,) = doc["entries"]
    assert entry["co2_grams"] == pytest.approx(12.4 / 3.6e6 * country_intensity("FRA"))
    result.stdout.fnmatch_lines(["*FRA*"])


def test_meter_setting_and_cli_override(gb) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nmeter = ["fakemeter:OtherMeter"]\n')
    gb.pytester.makepyfile(SPEND)
    _, doc = gb.run_json("-q", "--greenbudget-meter=fakemeter:FakeMeter")
    assert [m["name"] for m in doc["meters"]] == ["fake"]
    result = gb.pytester.runpytest(  # without the CLI option: the table's meter
        "-p", "no:hypothesispytest", f"--greenbudget-json={gb.path / 'a.json'}"
    )
    doc = json.loads((gb.path / "a.json").read_text())
    assert [m["name"] for m in doc["meters"]] == ["other"]
    result.assert_outcomes(passed=2)  # the other meter's counter does not move: 0 J


# -- options -------------------------------------------------------------------------


def test_off_measures_and_judges_nothing(gb, assert_no_crash) -> None:
    gb.pytester.makepyprojecttoml(
        '[tool.greenbudget]\nmeasure_all = true\ndefault_budget = "1 J"\n'
    )
    gb.pytester.makepyfile(SPEND)
    out = gb.path / "off.json"
    md = gb.path / "off.md"
    result = gb.run("--greenbudget-off", f"--greenbudget-json={out}",
                    f"--greenbudget-markdown={md}", "--greenbudget-save")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert_no_crash(result)
    assert "energy" not in result.stdout.str().lower()
    assert not out.exists() and not md.exists()
    assert not (gb.path / ".greenbudget").exists()


def test_off_ignores_a_broken_meter_setting(gb) -> None:
    gb.pytester.makepyfile(SPEND)
    result = gb.run("--greenbudget-off", "--greenbudget-meter=bogus")
    result.assert_outcomes(passed=2)


def test_all_option_measures_unmarked_tests(gb) -> None:
    gb.pytester.makepyfile(SPEND)
    _, doc = gb.run_json("-q")
    assert [e["id"] for e in doc["entries"]] == [
        "test_all_option_measures_unmarked_tests.py::test_marked"
    ]
    result, doc = gb.run_json("-q", "--greenbudget-all")
    entries = gb.entries(doc)
    unmarked = entries["test_all_option_measures_unmarked_tests.py::test_unmarked"]
    assert unmarked["status"] == "new"
    assert unmarked["joules"] == pytest.approx(3)
    result.assert_outcomes(passed=1, failed=1)


def test_measure_all_setting(gb) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\nmeasure_all = true\n")
    gb.pytester.makepyfile(SPEND)
    _, doc = gb.run_json("-q")
    assert len(doc["entries"]) == 2


def test_warn_only_option_never_fails_for_energy(gb, assert_no_crash) -> None:
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget("10 J", on_exceed="fail")
        def test_marked(energy_meter):
            fakemeter.spend(12.4)
            with energy_meter.measure("r", budget="1 J", on_exceed="fail"):
                fakemeter.spend(2)
        """
    )
    result, doc = gb.run_json("--greenbudget-warn-only", "-W",
                              "default::pytest_greenbudget.EnergyBudgetWarning")
    result.assert_outcomes(passed=1, warnings=2)
    assert result.ret == 0
    assert_no_crash(result)
    assert [e["status"] for e in doc["entries"]] == ["over_budget", "over_budget"]
    result.stdout.fnmatch_lines([
        "*EnergyBudgetWarning*energy budget exceeded: used 14.4 J, budget 10 J (144 %)*",
    ])


def test_json_path_is_relative_to_the_invocation_dir(gb, monkeypatch) -> None:
    gb.pytester.makepyprojecttoml("[tool.greenbudget]\n")
    sub = gb.path / "sub"
    sub.mkdir()
    (sub / "test_j.py").write_text(textwrap.dedent(SPEND))
    monkeypatch.chdir(sub)
    result = gb.run("--greenbudget-json=out/report.json")
    assert (sub / "out" / "report.json").is_file()
    assert not (gb.path / "out").exists()
    doc = json.loads((sub / "out" / "report.json").read_text())
    assert [e["id"] for e in doc["entries"]] == ["sub/test_j.py::test_marked"]
    result.assert_outcomes(passed=1, failed=1)


def test_budgets_patterns_match_nodeids_relative_to_rootdir(gb, monkeypatch) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget.budgets]
        "tests/test_pat.py::test_one" = "2 J"
        "tests/inference/*" = { budget = "30 J", on_exceed = "warn", rounds = 3 }
        "tests/num.py::*" = 7
        """
    )
    tests = gb.path / "tests"
    (tests / "inference").mkdir(parents=True)
    (tests / "test_pat.py").write_text(
        "import fakemeter\n"
        "def test_one():\n    fakemeter.spend(3)\n"
        "def test_two():\n    fakemeter.spend(3)\n"
    )
    (tests / "inference" / "test_inf.py").write_text(
        "import fakemeter\ndef test_inf():\n    fakemeter.spend(40)\n"
    )
    monkeypatch.chdir(tests)  # invocation dir differs from rootdir
    result, doc = gb.run_json("-W", "default::pytest_greenbudget.EnergyBudgetWarning")
    entries = gb.entries(doc)
    assert set(entries) == {"tests/test_pat.py::test_one", "tests/inference/test_inf.py::test_inf"}
    one = entries["tests/test_pat.py::test_one"]
    assert one["budget"] == {"joules": 2.0} and one["status"] == "over_budget"
    inf = entries["tests/inference/test_inf.py::test_inf"]
    assert inf["budget"] == {"joules": 30.0}
    assert inf["status"] == "over_budget"
    assert inf["rounds"] == 3
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    result.stdout.fnmatch_lines(["*EnergyBudgetWarning*test_inf*energy budget exceeded*"])


def test_baseline_path_is_relative_to_rootdir(gb, monkeypatch) -> None:
    gb.pytester.makepyprojecttoml('[tool.greenbudget]\nbaseline = "energy/base.json"\n')
    sub = gb.path / "sub"
    sub.mkdir()
    (sub / "test_b.py").write_text(textwrap.dedent(SPEND))
    monkeypatch.chdir(sub)
    result = gb.run("--greenbudget-save", "--greenbudget-all", "-q")
    result.assert_outcomes(passed=1, failed=1)
    saved = gb.path / "energy" / "base.json"
    assert saved.is_file()
    assert not (sub / "energy").exists()
    doc = json.loads(saved.read_text())
    (profile,) = doc["profiles"].values()
    assert list(profile["entries"]) == ["sub/test_b.py::test_unmarked"]  # passed tests only


def test_zero_values_are_honoured(gb) -> None:
    gb.pytester.makepyprojecttoml(
        """
        [tool.greenbudget]
        default_budget = 0
        carbon_intensity = 0
        tolerance = 0
        min_delta = 0
        warmup = 0

        [tool.greenbudget.budgets]
        "*::test_pattern" = 0
        "*::test_table" = { budget = "0 J", tolerance = 0, warmup = 0 }
        """
    )
    gb.pytester.makepyfile(
        """
        import pytest, fakemeter
        @pytest.mark.energy_budget()
        def test_default():
            fakemeter.spend(1)
        def test_pattern():
            fakemeter.spend(1)
        def test_table():
            fakemeter.spend(1)
        """
    )
    result, doc = gb.run_json()
    result.assert_outcomes(failed=3)
    assert doc["carbon_intensity_g_per_kwh"] == 0
    for entry in doc["entries"]:
        assert entry["budget"] == {"joules": 0.0}, entry
        assert entry["status"] == "over_budget"
        assert entry["co2_grams"] == 0
