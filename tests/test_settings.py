"""Unit tests for ``[tool.greenbudget]`` and the command line (SPEC section 3).

``load_settings`` takes a ``pytest.Config``; it only uses ``rootpath``,
``invocation_params.dir`` and ``getoption``, so a small stand-in replaces it.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_greenbudget import settings as gs
from pytest_greenbudget.carbon import country_intensity
from pytest_greenbudget.quantity import Quantity
from pytest_greenbudget.settings import (
    OVERRIDE_KEYS,
    TABLE_KEYS,
    Pattern,
    SettingError,
    Settings,
    as_bool,
    as_energy,
    as_float,
    as_int,
    as_meter_specs,
    as_on_exceed,
    as_phases,
    as_quantity,
    as_string,
    load_settings,
    suggest,
)

OPTION_NAMES = (
    "greenbudget_config",
    "greenbudget_meter",
    "greenbudget_off",
    "greenbudget_all",
    "greenbudget_warn_only",
    "greenbudget_save",
    "greenbudget_profile",
    "greenbudget_json",
    "greenbudget_markdown",
    "greenbudget_html",
    "greenbudget_history",
    "greenbudget_summary",
)


class FakeConfig:
    """What load_settings reads from pytest.Config."""

    def __init__(self, rootdir: Path, invocation_dir: Path | None = None, **options: Any) -> None:
        unknown = set(options) - set(OPTION_NAMES)
        assert not unknown, unknown
        self.rootpath = rootdir
        self.invocation_params = SimpleNamespace(dir=invocation_dir or rootdir)
        self._options = {name: None for name in OPTION_NAMES}
        for flag in ("greenbudget_off", "greenbudget_all", "greenbudget_warn_only",
                     "greenbudget_save"):
            self._options[flag] = False
        self._options.update(options)

    def getoption(self, name: str, default: Any = None) -> Any:
        if name not in self._options:
            raise ValueError(f"no option named {name!r}")
        return self._options[name]


def load(root: Path, toml: str | None = None, **options: Any) -> Settings:
    if toml is not None:
        (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    return load_settings(FakeConfig(root, **options))  # type: ignore[arg-type]


def usage_error(root: Path, toml: str, **options: Any) -> str:
    with pytest.raises(pytest.UsageError) as info:
        load(root, toml, **options)
    return str(info.value)


# -- defaults -----------------------------------------------------------------------


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.source == "built-in defaults"
    assert s.rootdir == tmp_path
    assert s.meter_specs == ("auto",)
    assert s.on_exceed == "fail"
    assert s.warn_only is False
    assert s.default_budget is None
    assert s.tolerance == 0.10
    assert s.min_delta == 0.005
    assert s.baseline_path == tmp_path / ".greenbudget" / "baseline.json"
    assert s.carbon_intensity == 475.0
    assert s.country is None
    assert s.rounds == 1
    assert s.warmup == 0
    assert s.phases == "call"
    assert s.measure_all is False
    assert s.cpu_tdp_watts is None
    assert s.patterns == ()
    assert s.save is False
    assert s.profile is None
    assert s.json_path is None
    assert s.markdown_path is None


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    s = load(tmp_path, "[project]\nname = 'x'\n")
    assert s.source == str(tmp_path / "pyproject.toml")
    assert s.meter_specs == ("auto",)
    assert s.tolerance == 0.10


def test_every_key_read(tmp_path: Path) -> None:
    s = load(tmp_path, """
[tool.greenbudget]
meter = ["estimate", "nvml"]
on_exceed = "warn"
default_budget = "2 kJ"
tolerance = 0.25
min_delta = "1 J"
baseline = "energy/base.json"
carbon_intensity = 100
rounds = 3
warmup = 2
phases = "all"
measure_all = true
cpu_tdp_watts = 65
""")
    assert s.meter_specs == ("estimate", "nvml")
    assert s.on_exceed == "warn"
    assert s.default_budget == Quantity("energy", 2000.0)
    assert s.tolerance == 0.25
    assert s.min_delta == 1.0
    assert s.baseline_path == tmp_path / "energy" / "base.json"
    assert s.carbon_intensity == 100.0
    assert isinstance(s.carbon_intensity, float)
    assert s.intensity_source == "carbon_intensity setting"
    assert s.rounds == 3
    assert s.warmup == 2
    assert s.phases == "all"
    assert s.measure_all is True
    assert s.cpu_tdp_watts == 65.0


def test_country_gives_codecarbon_intensity(tmp_path: Path) -> None:
    s = load(tmp_path, '[tool.greenbudget]\ncountry = "kor"\n')
    assert s.country == "KOR"
    assert s.carbon_intensity == pytest.approx(country_intensity("KOR"))
    assert s.carbon_intensity == pytest.approx(430.6, abs=0.05)
    assert "KOR" in s.intensity_source


def test_country_and_intensity_together_is_an_error(tmp_path: Path) -> None:
    text = usage_error(tmp_path, '[tool.greenbudget]\ncountry = "KOR"\ncarbon_intensity = 400\n')
    assert "country" in text and "carbon_intensity" in text
    assert str(tmp_path / "pyproject.toml") in text


def test_unknown_country(tmp_path: Path) -> None:
    text = usage_error(tmp_path, '[tool.greenbudget]\ncountry = "XYZ"\n')
    assert "country" in text and "'XYZ'" in text
    assert str(tmp_path / "pyproject.toml") in text


def test_plain_number_is_joules_for_quantities(tmp_path: Path) -> None:
    s = load(tmp_path, "[tool.greenbudget]\ndefault_budget = 30\nmin_delta = 0\n")
    assert s.default_budget == Quantity("energy", 30.0)
    assert s.min_delta == 0.0


def test_carbon_default_budget(tmp_path: Path) -> None:
    s = load(tmp_path, '[tool.greenbudget]\ndefault_budget = "3 mgCO2e"\n')
    assert s.default_budget == Quantity("carbon", pytest.approx(0.003))


def test_meter_string_with_commas(tmp_path: Path) -> None:
    s = load(tmp_path, '[tool.greenbudget]\nmeter = "rapl, nvml"\n')
    assert s.meter_specs == ("rapl", "nvml")


# -- invalid values: one UsageError naming file, key and value ----------------------

BAD_VALUES = [
    ("meter", "5"),
    ("meter", "[]"),
    ("meter", '[""]'),
    ("meter", '"a,,b"'),
    ("meter", '["a", 1]'),
    ("meter", "true"),
    ("on_exceed", '"error"'),
    ("on_exceed", '"FAIL"'),
    ("on_exceed", "true"),
    ("default_budget", '"5 Jx"'),
    ("default_budget", '"-1 J"'),
    ("default_budget", "-1"),
    ("default_budget", "true"),
    ("default_budget", "nan"),
    ("default_budget", "inf"),
    ("default_budget", '"5 j"'),
    ("tolerance", "-0.1"),
    ("tolerance", '"10 %"'),
    ("tolerance", "true"),
    ("tolerance", "nan"),
    ("tolerance", "inf"),
    ("min_delta", '"1 gCO2e"'),
    ("min_delta", '"-1 J"'),
    ("min_delta", "false"),
    ("baseline", '""'),
    ("baseline", "1"),
    ("baseline", "[]"),
    ("carbon_intensity", "-1"),
    ("carbon_intensity", '"475"'),
    ("carbon_intensity", "nan"),
    ("carbon_intensity", "true"),
    ("country", '""'),
    ("country", "410"),
    ("rounds", "0"),
    ("rounds", "-1"),
    ("rounds", "2.0"),
    ("rounds", '"3"'),
    ("rounds", "true"),
    ("max_rounds", "0"),
    ("max_rounds", "2.5"),
    ("max_rounds", '"5"'),
    ("warmup", "-1"),
    ("warmup", "1.5"),
    ("warmup", "false"),
    ("phases", '"setup"'),
    ("phases", "1"),
    ("measure_all", '"yes"'),
    ("measure_all", "1"),
    ("cpu_tdp_watts", "0"),
    ("cpu_tdp_watts", "-65"),
    ("cpu_tdp_watts", '"65 W"'),
    ("cpu_tdp_watts", "true"),
    ("cpu_tdp_watts", "inf"),
    ("budgets", "5"),
    ("budgets", '"tests/*"'),
    ("budgets", "[]"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_bad_value_is_usage_error_naming_file_and_key(tmp_path: Path, key: str, value: str) -> None:
    text = usage_error(tmp_path, f"[tool.greenbudget]\n{key} = {value}\n")
    assert text.startswith("greenbudget: ")
    assert str(tmp_path / "pyproject.toml") in text
    assert f"[tool.greenbudget] {key}:" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("on_exceed", '"error"', "'error'"),
    ("default_budget", '"5 Jx"', "'5 Jx'"),
    ("tolerance", "-0.1", "-0.1"),
    ("rounds", "0", "0"),
    ("cpu_tdp_watts", "0", "0"),
    ("phases", '"setup"', "'setup'"),
    ("min_delta", '"1 gCO2e"', "'1 gCO2e'"),
])
def test_bad_value_message_shows_the_value(
    tmp_path: Path, key: str, value: str, shown: str
) -> None:
    text = usage_error(tmp_path, f"[tool.greenbudget]\n{key} = {value}\n")
    assert shown in text.split(f"{key}:", 1)[1]


@pytest.mark.parametrize(("key", "closest"), [
    ("tolerence", "tolerance"),
    ("meters", "meter"),
    ("on_exced", "on_exceed"),
    ("default-budget", "default_budget"),
    ("budget", "budgets"),
    ("carbon_intesity", "carbon_intensity"),
    ("warm_up", "warmup"),
])
def test_unknown_key_suggests_closest(tmp_path: Path, key: str, closest: str) -> None:
    text = usage_error(tmp_path, f"[tool.greenbudget]\n{key} = 1\n")
    assert f"[tool.greenbudget] {key}: unknown key" in text
    assert f"did you mean {closest!r}" in text
    assert str(tmp_path / "pyproject.toml") in text


def test_unknown_key_far_from_all_lists_valid_keys(tmp_path: Path) -> None:
    text = usage_error(tmp_path, "[tool.greenbudget]\nzzzzzzzzzzzz = 1\n")
    assert "unknown key" in text
    for key in TABLE_KEYS:
        assert key in text


def test_suggest() -> None:
    assert suggest("tolerence", TABLE_KEYS) == "; did you mean 'tolerance'?"
    assert suggest("qqqqqqqq", ("a", "b")).startswith("; valid keys: a, b")


def test_invalid_toml_is_usage_error(tmp_path: Path) -> None:
    text = usage_error(tmp_path, "[tool.greenbudget\nmeter = 'auto'\n")
    assert "not valid TOML" in text
    assert str(tmp_path / "pyproject.toml") in text


def test_greenbudget_not_a_table(tmp_path: Path) -> None:
    text = usage_error(tmp_path, "[tool]\ngreenbudget = 5\n")
    assert "must be a table" in text


# -- --greenbudget-config and other options ------------------------------------------


def test_explicit_config_relative_to_invocation_dir(tmp_path: Path) -> None:
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    root.mkdir()
    (cwd / "ci").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.greenbudget]\nrounds = 2\n", "utf-8")
    (cwd / "ci" / "energy.toml").write_text("[tool.greenbudget]\nrounds = 7\n", "utf-8")
    config = FakeConfig(root, cwd, greenbudget_config="ci/energy.toml")
    s = load_settings(config)  # type: ignore[arg-type]
    assert s.rounds == 7
    assert s.source == str(cwd / "ci" / "energy.toml")
    # relative paths in the table stay relative to rootdir
    assert s.baseline_path == root / ".greenbudget" / "baseline.json"


def test_explicit_config_missing_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(pytest.UsageError) as info:
        load(tmp_path, greenbudget_config="nope.toml")
    assert "nope.toml" in str(info.value)


def test_explicit_config_errors_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "gb.toml").write_text("[tool.greenbudget]\nrounds = 0\n", "utf-8")
    with pytest.raises(pytest.UsageError) as info:
        load(tmp_path, greenbudget_config="gb.toml")
    text = str(info.value)
    assert str(tmp_path / "gb.toml") in text
    assert "rounds" in text


def test_cli_meter_overrides_table(tmp_path: Path) -> None:
    s = load(tmp_path, '[tool.greenbudget]\nmeter = "rapl"\n', greenbudget_meter="estimate,nvml")
    assert s.meter_specs == ("estimate", "nvml")


@pytest.mark.parametrize("value", ["", ",", "a,,b", " , "])
def test_cli_meter_bad(tmp_path: Path, value: str) -> None:
    with pytest.raises(pytest.UsageError) as info:
        load(tmp_path, greenbudget_meter=value)
    assert "--greenbudget-meter" in str(info.value)


def test_cli_flags(tmp_path: Path) -> None:
    s = load(
        tmp_path,
        greenbudget_all=True,
        greenbudget_warn_only=True,
        greenbudget_save=True,
        greenbudget_profile="ci-x",
        greenbudget_json="out/r.json",
        greenbudget_markdown="r.md",
    )
    assert s.measure_all is True
    assert s.warn_only is True
    assert s.save is True
    assert s.profile == "ci-x"
    assert s.json_path == tmp_path / "out" / "r.json"
    assert s.markdown_path == tmp_path / "r.md"


def test_report_paths_relative_to_invocation_dir(tmp_path: Path) -> None:
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    root.mkdir()
    cwd.mkdir()
    s = load_settings(FakeConfig(root, cwd, greenbudget_json="r.json"))  # type: ignore[arg-type]
    assert s.json_path == cwd / "r.json"


def test_bad_table_meter_is_an_error_even_with_cli_meter(tmp_path: Path) -> None:
    with pytest.raises(pytest.UsageError):
        load(tmp_path, "[tool.greenbudget]\nmeter = 5\n", greenbudget_meter="estimate")


def test_bad_table_measure_all_is_an_error_even_with_cli_all(tmp_path: Path) -> None:
    with pytest.raises(pytest.UsageError):
        load(tmp_path, '[tool.greenbudget]\nmeasure_all = "yes"\n', greenbudget_all=True)


# -- budgets patterns ---------------------------------------------------------------


def test_budgets_table(tmp_path: Path) -> None:
    s = load(tmp_path, """
[tool.greenbudget.budgets]
"tests/test_train.py::test_one_epoch" = "2 kJ"
"tests/inference/*" = { budget = "30 J", on_exceed = "warn", rounds = 5 }
"tests/plain/*" = 12
"tests/carbon/*" = "1 gCO2e"
"tests/tol/*" = { tolerance = 0.5, warmup = 1 }
"tests/empty/*" = {}
""")
    by = {p.pattern: p for p in s.patterns}
    assert by["tests/test_train.py::test_one_epoch"] == Pattern(
        "tests/test_train.py::test_one_epoch", budget=Quantity("energy", 2000.0)
    )
    assert by["tests/inference/*"] == Pattern(
        "tests/inference/*", budget=Quantity("energy", 30.0), on_exceed="warn", rounds=5
    )
    assert by["tests/plain/*"].budget == Quantity("energy", 12.0)
    assert by["tests/carbon/*"].budget == Quantity("carbon", 1.0)
    assert by["tests/tol/*"] == Pattern("tests/tol/*", tolerance=0.5, warmup=1)
    assert by["tests/empty/*"] == Pattern("tests/empty/*")


@pytest.mark.parametrize(("value", "fragment"), [
    ('"5 Jx"', "'5 Jx'"),
    ("-3", "-3"),
    ("true", "True"),
    ("[1, 2]", "[1, 2]"),
    ('{ budget = "-1 J" }', "budget"),
    ('{ budget = "5 Jx" }', "'5 Jx'"),
    ("{ tolerance = -1 }", "tolerance"),
    ('{ on_exceed = "explode" }', "'explode'"),
    ("{ rounds = 0 }", "rounds"),
    ("{ warmup = -1 }", "warmup"),
    ("{ rounds = 1.5 }", "rounds"),
    ("{ max_rounds = 0 }", "max_rounds"),
    ("{ rounds = 5, max_rounds = 2 }", "must be >= rounds (5)"),
    ("{ meter = 'rapl' }", "meter"),
    ("{ budjet = '5 J' }", "did you mean 'budget'"),
])
def test_bad_pattern_entry(tmp_path: Path, value: str, fragment: str) -> None:
    text = usage_error(tmp_path, f'[tool.greenbudget.budgets]\n"tests/x/*" = {value}\n')
    assert str(tmp_path / "pyproject.toml") in text
    assert "budgets.'tests/x/*'" in text
    assert fragment in text


def test_pattern_keys() -> None:
    assert set(OVERRIDE_KEYS) == {
        "budget", "tolerance", "on_exceed", "rounds", "warmup", "max_rounds"
    }


def _settings(*patterns: str) -> Settings:
    return Settings(rootdir=Path("."), patterns=tuple(Pattern(p) for p in patterns))


def test_pattern_for_longest_match_wins() -> None:
    s = _settings("tests/*", "tests/inference/*", "tests/inference/test_a.py::*", "*")
    assert s.pattern_for("tests/inference/test_a.py::test_x").pattern == (  # type: ignore[union-attr]
        "tests/inference/test_a.py::*"
    )
    assert s.pattern_for("tests/inference/test_b.py::t").pattern == "tests/inference/*"  # type: ignore[union-attr]
    assert s.pattern_for("tests/test_c.py::t").pattern == "tests/*"  # type: ignore[union-attr]
    assert s.pattern_for("other/t.py::t").pattern == "*"  # type: ignore[union-attr]


def test_pattern_for_longest_wins_regardless_of_order() -> None:
    a = _settings("tests/inference/*", "tests/*")
    b = _settings("tests/*", "tests/inference/*")
    for s in (a, b):
        assert s.pattern_for("tests/inference/t.py::x").pattern == "tests/inference/*"  # type: ignore[union-attr]


def test_pattern_for_no_match() -> None:
    assert _settings("tests/a/*").pattern_for("tests/b/t.py::x") is None
    assert _settings().pattern_for("anything") is None


def test_pattern_for_is_case_sensitive() -> None:
    assert _settings("Tests/*").pattern_for("tests/t.py::x") is None


@pytest.mark.parametrize("nodeid", [
    "tests/t.py::test_x[1-2]",
    "tests/t.py::test_x[a]",
    "tests/t.py::test_x[cpu-float32]",
    "tests/t.py::Test::test_y[!x]",
    "tests/t.py::test_x[*]",
    "tests/t.py::test_x[?]",
])
def test_pattern_for_exact_parametrized_id_matches_itself(nodeid: str) -> None:
    s = _settings("tests/*.py::nothing", nodeid)
    assert s.pattern_for(nodeid) == Pattern(nodeid)


def test_exact_parametrized_id_beats_shorter_glob() -> None:
    nodeid = "tests/t.py::test_x[cpu-1]"
    s = _settings("tests/t.py::*", nodeid)
    assert s.pattern_for(nodeid).pattern == nodeid  # type: ignore[union-attr]
    assert s.pattern_for("tests/t.py::test_x[gpu-1]").pattern == "tests/t.py::*"  # type: ignore[union-attr]


# -- the validators ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [(0, 0.0), (1, 1.0), (0.5, 0.5), (10**6, 1e6)])
def test_as_float_ok(raw: object, expected: float) -> None:
    value = as_float(raw)
    assert value == expected and isinstance(value, float)


@pytest.mark.parametrize("raw", [-1, -0.0001, True, False, None, "1", float("nan"),
                                 float("inf"), float("-inf"), [1]])
def test_as_float_bad(raw: object) -> None:
    with pytest.raises(SettingError) as info:
        as_float(raw)
    assert repr(raw) in str(info.value)


def test_as_float_strict_and_minimum() -> None:
    assert as_float(0.1, strict=True) == 0.1
    with pytest.raises(SettingError, match="> 0"):
        as_float(0, strict=True)
    with pytest.raises(SettingError, match=">= 1"):
        as_float(0.5, minimum=1.0)


@pytest.mark.parametrize(("raw", "minimum"), [(1, 1), (0, 0), (100, 1)])
def test_as_int_ok(raw: int, minimum: int) -> None:
    assert as_int(raw, minimum=minimum) == raw


@pytest.mark.parametrize(("raw", "minimum"), [(0, 1), (-1, 0), (True, 0), (False, 0), (1.0, 0),
                                               ("1", 0), (None, 0)])
def test_as_int_bad(raw: object, minimum: int) -> None:
    with pytest.raises(SettingError) as info:
        as_int(raw, minimum=minimum)
    assert repr(raw) in str(info.value)
    assert f">= {minimum}" in str(info.value)


def test_small_validators() -> None:
    assert as_bool(True) is True and as_bool(False) is False
    for bad in (1, 0, "true", None):
        with pytest.raises(SettingError):
            as_bool(bad)
    assert as_on_exceed("fail") == "fail" and as_on_exceed("warn") == "warn"
    assert as_phases("call") == "call" and as_phases("all") == "all"
    for bad2 in ("Fail", "", None, 1):
        with pytest.raises(SettingError):
            as_on_exceed(bad2)
        with pytest.raises(SettingError):
            as_phases(bad2)
    assert as_string("x") == "x"
    for bad3 in ("", 1, None):
        with pytest.raises(SettingError):
            as_string(bad3)
    assert as_quantity("1 kJ") == Quantity("energy", 1000.0)
    with pytest.raises(SettingError, match="'1 xJ'"):
        as_quantity("1 xJ")
    assert as_energy("1 Wh") == 3600.0
    with pytest.raises(SettingError):
        as_energy("1 gCO2e")


@pytest.mark.parametrize(("raw", "specs"), [
    ("auto", ("auto",)),
    ("a,b", ("a", "b")),
    (" a , b ", ("a", "b")),
    (["a", "b,c"], ("a", "b", "c")),
    (["a", "a"], ("a",)),
    ("pkg.mod:Cls", ("pkg.mod:Cls",)),
])
def test_as_meter_specs(raw: object, specs: tuple[str, ...]) -> None:
    assert as_meter_specs(raw) == specs


@pytest.mark.parametrize("raw", ["", [], [""], "a,", ["a", 2], 5, None, ("a",), {"a": 1}])
def test_as_meter_specs_bad(raw: object) -> None:
    with pytest.raises(SettingError):
        as_meter_specs(raw)


# -- property: any value for any key gives Settings or a UsageError -------------------

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["5 J", "2 kWh", "3 gCO2e", "fail", "warn", "call", "all", "auto",
                     "estimate", "KOR", "xx:Y", "1e3 J", "-1 J"]),
    st.datetimes(),
    st.dates(),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from([*OVERRIDE_KEYS, "x", "tests/*"]), children, max_size=3),
    ),
    max_leaves=6,
)
FIXTURE_CHECK = HealthCheck.function_scoped_fixture
keys = st.one_of(st.sampled_from(TABLE_KEYS), st.text(min_size=1, max_size=12))


@settings(max_examples=300, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(table=st.dictionaries(keys, toml_values, max_size=4))
def test_any_table_gives_settings_or_usage_error(tmp_path: Path, table: dict[str, Any]) -> None:
    (tmp_path / "pyproject.toml").write_text("", "utf-8")
    with mock.patch.object(gs, "_read_table", return_value=table):
        try:
            s = load(tmp_path)
        except pytest.UsageError as exc:
            assert str(exc).startswith("greenbudget: ")
        else:
            assert isinstance(s, Settings)
            assert math.isfinite(s.tolerance) and s.tolerance >= 0
            assert s.rounds >= 1 and s.warmup >= 0


@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE_CHECK])
@given(key=st.sampled_from(TABLE_KEYS), value=toml_values)
def test_any_value_for_each_key(tmp_path: Path, key: str, value: Any) -> None:
    (tmp_path / "pyproject.toml").write_text("", "utf-8")
    with mock.patch.object(gs, "_read_table", return_value={key: value}):
        try:
            load(tmp_path)
        except pytest.UsageError as exc:
            assert f"[tool.greenbudget] {key}" in str(exc)


def test_datetime_value_is_usage_error(tmp_path: Path) -> None:
    text = usage_error(tmp_path, "[tool.greenbudget]\ntolerance = 1979-05-27\n")
    assert "tolerance" in text
    assert repr(datetime.date(1979, 5, 27)) in text


def test_max_rounds_key(tmp_path: Path) -> None:
    assert load(tmp_path).max_rounds is None
    assert load(tmp_path, "[tool.greenbudget]\nmax_rounds = 6\n").max_rounds == 6
    text = usage_error(tmp_path, "[tool.greenbudget]\nrounds = 3\nmax_rounds = 2\n")
    assert "max_rounds" in text and "must be >= rounds (3), got 2" in text
