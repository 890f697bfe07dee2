"""Unit tests for quantity parsing and formatting (SPEC section 4)."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_greenbudget.quantity import (
    CARBON_UNITS,
    ENERGY_UNITS,
    Quantity,
    QuantityError,
    format_grams,
    format_joules,
    parse_energy,
    parse_quantity,
)

SPEC_ENERGY = {
    "uJ": 1e-6,
    "\u00b5J": 1e-6,  # micro sign
    "\u03bcJ": 1e-6,  # Greek mu: what NFKC normalisation (and some editors) make of the sign
    "J": 1.0,
    "mJ": 1e-3,
    "kJ": 1e3,
    "MJ": 1e6,
    "Wh": 3600.0,
    "mWh": 3.6,
    "kWh": 3.6e6,
}
SPEC_CARBON = {
    "ugCO2e": 1e-6,
    "\u00b5gCO2e": 1e-6,
    "\u03bcgCO2e": 1e-6,
    "ugCO2eq": 1e-6,
    "\u00b5gCO2eq": 1e-6,
    "\u03bcgCO2eq": 1e-6,
    "gCO2e": 1.0,
    "mgCO2e": 1e-3,
    "kgCO2e": 1e3,
    "gCO2eq": 1.0,
    "mgCO2eq": 1e-3,
    "kgCO2eq": 1e3,
}
ALL_UNITS = {**{u: ("energy", f) for u, f in SPEC_ENERGY.items()},
             **{u: ("carbon", f) for u, f in SPEC_CARBON.items()}}


def test_unit_tables_are_exactly_the_spec_units() -> None:
    assert ENERGY_UNITS == SPEC_ENERGY
    assert CARBON_UNITS == SPEC_CARBON


@pytest.mark.parametrize(("unit", "kind", "factor"), [(u, k, f) for u, (k, f) in ALL_UNITS.items()])
def test_every_unit(unit: str, kind: str, factor: float) -> None:
    q = parse_quantity(f"2.5 {unit}")
    assert q.kind == kind
    assert q.value == pytest.approx(2.5 * factor, rel=1e-12)


@pytest.mark.parametrize(("text", "joules"), [
    ("1 mJ", 1e-3),
    ("1 MJ", 1e6),
    ("1 kJ", 1e3),
    ("1 Wh", 3600.0),
    ("1 mWh", 3.6),
    ("1 kWh", 3.6e6),
])
def test_prefixes_are_case_sensitive_and_decimal(text: str, joules: float) -> None:
    assert parse_quantity(text) == Quantity("energy", pytest.approx(joules, rel=1e-12))


@pytest.mark.parametrize("text", ["1 KJ", "1 j", "1 mj", "1 MWh", "1 kwh", "1 wh", "1 GJ",
                                  "1 UJ", "1 Mj", "1 gco2e", "1 GCO2e", "1 kgCO2", "1 gCO2",
                                  "1 tCO2e", "1 gCO2EQ", "1 J J"])
def test_wrong_case_or_unknown_units_are_errors(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value)


def test_mJ_and_MJ_differ_by_nine_orders_of_magnitude() -> None:
    assert parse_quantity("1 MJ").value / parse_quantity("1 mJ").value == pytest.approx(1e9)


@pytest.mark.parametrize(("text", "value"), [
    ("1e3 J", 1000.0),
    ("1E3 J", 1000.0),
    ("1.5e-3 kJ", 1.5),
    ("2e+2 mJ", 0.2),
    (".5 J", 0.5),
    ("5. J", 5.0),
    ("0 J", 0.0),
    ("0.0 kWh", 0.0),
    ("0 gCO2e", 0.0),
    ("50J", 50.0),
    ("50 J", 50.0),
    ("50   J", 50.0),
    ("  50 J  ", 50.0),
    ("50\tJ", 50.0),
])
def test_number_forms_and_optional_spaces(text: str, value: float) -> None:
    assert parse_quantity(text).value == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(("raw", "value"), [(0, 0.0), (12, 12.0), (12.5, 12.5), (1e-9, 1e-9)])
def test_plain_numbers_are_joules(raw: float, value: float) -> None:
    q = parse_quantity(raw)
    assert q == Quantity("energy", value)
    assert isinstance(q.value, float)


def test_carbon_kind_and_as_dict() -> None:
    assert parse_quantity("3 gCO2eq").as_dict() == {"co2_grams": 3.0}
    assert parse_quantity("3 kJ").as_dict() == {"joules": 3000.0}


@pytest.mark.parametrize("raw", [
    "-1 J", "-0.5 kWh", -1, -0.001, "-1e3 J",
    "nan J", "NaN J", "inf J", "-inf J", "1e400 J",
    float("nan"), float("inf"), float("-inf"),
    "5 Jx", "5 J x", "5 J.", "5 J5 J", "J", "5", "", "   ", "five J", "5,0 J", "1_000 J",
    "0x10 J", "5 J;", "5 J\x00",
    True, False, None, [5], ["5 J"], {"budget": 5}, (5,), b"5 J", object,
])
def test_bad_quantities_raise_quantity_error_naming_the_value(raw: object) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(raw)
    assert repr(raw) in str(info.value)


def test_quantity_error_is_a_value_error() -> None:
    assert issubclass(QuantityError, ValueError)


@pytest.mark.parametrize("raw", ["1e308 kWh", "1e305 MJ", "1.7e308 kgCO2e"])
def test_overflow_to_infinity_is_a_quantity_error(raw: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(raw)


def test_huge_int_is_a_quantity_error() -> None:
    with pytest.raises(QuantityError):
        parse_quantity(10**400)


def test_parse_energy_accepts_energy_rejects_carbon() -> None:
    assert parse_energy("2 kJ") == 2000.0
    assert parse_energy(3) == 3.0
    with pytest.raises(QuantityError) as info:
        parse_energy("2 gCO2e")
    assert "'2 gCO2e'" in str(info.value)
    with pytest.raises(QuantityError):
        parse_energy("-2 J")


@pytest.mark.parametrize(("joules", "text"), [
    (0, "0 J"),
    (12.4, "12.4 J"),
    (10, "10 J"),
    (1, "1 J"),
    (0.812, "812 mJ"),
    (3100, "3.1 kJ"),
    (2880, "2.88 kJ"),
    (3600, "1 Wh"),
    (7200, "2 Wh"),
    (3.6e6, "1 kWh"),
    (5.4e6, "1.5 kWh"),
    (0.0123, "12.3 mJ"),
])
def test_format_joules(joules: float, text: str) -> None:
    assert format_joules(joules) == text


@pytest.mark.parametrize(("grams", "text"), [
    (0, "0 gCO2e"),
    (3.4, "3.4 gCO2e"),
    (0.0012, "1.2 mgCO2e"),
    (1500, "1.5 kgCO2e"),
])
def test_format_grams(grams: float, text: str) -> None:
    assert format_grams(grams) == text


def test_quantity_str() -> None:
    assert str(parse_quantity("2 kJ")) == "2 kJ"
    assert str(parse_quantity("2 mgCO2e")) == "2 mgCO2e"


def test_format_below_a_millijoule_uses_uj_which_a_budget_accepts() -> None:
    """SPEC 4: every unit a report prints is accepted as input."""
    assert format_joules(5e-4) == "500 uJ"
    assert format_grams(5e-4) == "500 ugCO2e"
    assert parse_quantity(format_joules(5e-4)) == Quantity("energy", pytest.approx(5e-4))
    assert parse_quantity(format_grams(5e-4)) == Quantity("carbon", pytest.approx(5e-4))
    assert parse_quantity("3 \u00b5J") == parse_quantity("3 uJ")
    assert parse_quantity("3 \u00b5gCO2e") == parse_quantity("3 ugCO2e")


# -- properties -------------------------------------------------------------------

finite = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(x=finite, unit=st.sampled_from(sorted(ALL_UNITS)), spaces=st.sampled_from(["", " ", "  "]))
@example(x=0.0, unit="J", spaces="")
@example(x=5e-324, unit="kWh", spaces=" ")
def test_round_trip_any_finite_number_any_unit(x: float, unit: str, spaces: str) -> None:
    kind, factor = ALL_UNITS[unit]
    expected = x * factor
    if math.isinf(expected):
        return  # covered by test_overflow_to_infinity_is_a_quantity_error
    q = parse_quantity(f"{x!r}{spaces}{unit}")
    assert q.kind == kind
    assert math.isclose(q.value, expected, rel_tol=1e-12, abs_tol=0.0)


@settings(max_examples=300, deadline=None)
@given(x=finite)
def test_plain_float_round_trips_as_joules(x: float) -> None:
    assert parse_quantity(x) == Quantity("energy", x)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(min_value=1e-3, max_value=1e15))
def test_format_joules_output_reparses_close_to_the_value(x: float) -> None:
    text = format_joules(x)
    # three significant digits: at most half a unit in the third digit, relative
    assert parse_energy(text) == pytest.approx(x, rel=5e-3)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(min_value=0.0, max_value=1e15))
def test_format_joules_never_raises_for_finite_values(x: float) -> None:
    text = format_joules(x)
    number, unit = text.split(" ")
    float(number)
    assert unit in SPEC_ENERGY


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(
    st.text(),
    st.from_regex(r"\s*[+-]?[0-9.eE+-]{0,12}\s*[A-Za-z0-9]{0,8}\s*", fullmatch=True),
    st.builds(lambda n, u: f"{n} {u}", st.floats(), st.sampled_from([*ALL_UNITS, "x", ""])),
))
def test_any_text_parses_or_raises_quantity_error(raw: str) -> None:
    try:
        q = parse_quantity(raw)
    except QuantityError as exc:
        assert repr(raw) in str(exc)
    else:
        assert q.kind in ("energy", "carbon")
        assert q.value >= 0 and math.isfinite(q.value)


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**300, max_value=10**300),
                     st.floats(), st.lists(st.integers()), st.binary(), st.dictionaries(st.text(),
                     st.integers())))
def test_any_value_parses_or_raises_quantity_error(raw: object) -> None:
    try:
        q = parse_quantity(raw)
    except QuantityError:
        pass
    else:
        assert q.kind == "energy" and q.value >= 0 and math.isfinite(q.value)


@settings(max_examples=400, deadline=None)
@given(x=st.floats(min_value=0.0, max_value=1e12, allow_subnormal=False))
@example(x=0.0)
@example(x=3e-7)
@example(x=1.23e-12)
def test_every_printed_figure_reparses(x: float) -> None:
    """Whatever format_joules / format_grams print (also below 1 uJ), a budget accepts."""
    for text, kind in ((format_joules(x), "energy"), (format_grams(x), "carbon")):
        q = parse_quantity(text)
        assert q.kind == kind
        assert q.value == pytest.approx(x, rel=5e-3, abs=1e-300), text
        per_unit = parse_quantity(f"{text}/sample")
        assert per_unit == Quantity(kind, q.value, "sample")


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5 mJ/sample", Quantity("energy", 5e-4, "sample")),
    ("2 J / token", Quantity("energy", 2.0, "token")),
    ("2J/token", Quantity("energy", 2.0, "token")),
    ("20 ugCO2e/image", Quantity("carbon", 2e-5, "image")),
    ("20 \u00b5gCO2e/image", Quantity("carbon", 2e-5, "image")),
    ("1 kWh/epoch_2", Quantity("energy", 3.6e6, "epoch_2")),
    ("3 uJ/Sample", Quantity("energy", 3e-6, "Sample")),
])
def test_per_unit_quantities(text: str, expected: Quantity) -> None:
    q = parse_quantity(text)
    assert q.kind == expected.kind and q.per == expected.per
    assert q.value == pytest.approx(expected.value, rel=1e-12)


@pytest.mark.parametrize("text", [
    "0.5 mJ/", "0.5 mJ/1sample", "0.5 mJ/_x", "0.5 mJ/sam ple", "0.5 mJ/sample/s",
    "0.5 /sample", "0.5 mJ per sample", "0.5 mJ/sample-x", "-1 J/sample", "nan J/token",
])
def test_bad_per_unit_quantities(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value)


def test_per_unit_quantity_json_and_text() -> None:
    q = parse_quantity("0.5 mJ/sample")
    assert q.as_dict() == {"joules": pytest.approx(5e-4), "per": "sample"}
    assert str(q) == "500 uJ/sample"
    assert parse_quantity(str(q)) == q
    carbon = parse_quantity("20 ugCO2e / image")
    assert carbon.as_dict() == {"co2_grams": pytest.approx(2e-5), "per": "image"}
    assert str(carbon) == "20 ugCO2e/image"


def test_parse_energy_rejects_per_unit() -> None:
    with pytest.raises(QuantityError, match="per sample"):
        parse_energy("1 J/sample")
