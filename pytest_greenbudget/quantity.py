"""Energy and carbon quantities: parsing budgets and formatting numbers for people.

Units are case-sensitive on purpose: ``mJ`` and ``MJ`` differ by nine orders of
magnitude, and guessing would turn a typo into a silently wrong budget.
"""

from __future__ import annotations

import math
import re
from typing import Literal, NamedTuple

Kind = Literal["energy", "carbon"]

#: Joules per unit for energy units.
ENERGY_UNITS: dict[str, float] = {
    "uJ": 1e-6,
    "\u00b5J": 1e-6,  # MICRO SIGN, as typed on most keyboards
    "\u03bcJ": 1e-6,  # GREEK SMALL LETTER MU, which some editors produce instead
    "J": 1.0,
    "mJ": 1e-3,
    "kJ": 1e3,
    "MJ": 1e6,
    "Wh": 3600.0,
    "mWh": 3.6,
    "kWh": 3.6e6,
}

#: Grams of CO2e per unit for carbon units.
CARBON_UNITS: dict[str, float] = {
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

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
#: A work unit (SPEC section 14): letters, digits and _, starting with a letter.
WORK_UNIT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PATTERN = re.compile(
    rf"\s*({_NUMBER})\s*([A-Za-z0-9\u00b5\u03bc]+)(?:\s*/\s*({WORK_UNIT.pattern}))?\s*"
)


class QuantityError(ValueError):
    """A quantity that cannot be parsed; the message names the bad value."""


class Quantity(NamedTuple):
    """A budget: joules for energy, grams of CO2e for carbon; ``per`` a work unit or None.

    ``Quantity("energy", 5e-4, "sample")`` is 0.5 mJ per sample (SPEC section 14).
    """

    kind: Kind
    value: float
    per: str | None = None

    def as_dict(self) -> dict[str, float | str]:
        """The budget's JSON form: ``{"joules": x}``, ``{"co2_grams": x}``, plus ``"per"``."""
        data: dict[str, float | str] = (
            {"joules": self.value} if self.kind == "energy" else {"co2_grams": self.value}
        )
        if self.per is not None:
            data["per"] = self.per
        return data

    def __str__(self) -> str:
        text = format_joules(self.value) if self.kind == "energy" else format_grams(self.value)
        return text if self.per is None else f"{text}/{self.per}"


def _check_number(value: float, shown: object) -> float:
    if math.isnan(value) or math.isinf(value):
        raise QuantityError(f"{shown!r} is not a finite number")
    if value < 0:
        raise QuantityError(f"{shown!r} is negative; a quantity must be >= 0")
    return value


def parse_quantity(raw: object) -> Quantity:
    """Parse ``"50 J"``, ``"2 kWh"``, ``"3 gCO2e"``, ``"0.5 mJ/sample"`` or a number of joules."""
    if isinstance(raw, bool):
        raise QuantityError(f"{raw!r} is a boolean, not a quantity")
    if isinstance(raw, (int, float)):
        try:
            number = float(raw)
        except OverflowError:
            raise QuantityError(f"{raw!r} is too large to be a quantity") from None
        return Quantity("energy", _check_number(number, raw))
    if not isinstance(raw, str):
        raise QuantityError(
            f"{raw!r} is a {type(raw).__name__}; expected a string such as '50 J' or a number"
        )
    match = _PATTERN.fullmatch(raw)
    if match is None:
        raise QuantityError(
            f"{raw!r} is not a quantity; expected a number and a unit, e.g. '50 J' or '2 gCO2e'"
        )
    number, unit, per = float(match.group(1)), match.group(2), match.group(3)
    _check_number(number, raw)
    if unit in ENERGY_UNITS:
        return Quantity("energy", _check_number(number * ENERGY_UNITS[unit], raw), per)
    if unit in CARBON_UNITS:
        return Quantity("carbon", _check_number(number * CARBON_UNITS[unit], raw), per)
    known = ", ".join(u for u in [*ENERGY_UNITS, *CARBON_UNITS] if "\u03bc" not in u)
    raise QuantityError(
        f"{raw!r} has an unknown unit {unit!r}; known units: {known}, "
        "each optionally per unit of work, e.g. '0.5 mJ/sample'"
    )


def parse_energy(raw: object) -> float:
    """Parse a quantity that must be energy, returning joules."""
    quantity = parse_quantity(raw)
    if quantity.kind != "energy":
        raise QuantityError(f"{raw!r} is a carbon quantity; an energy quantity is needed here")
    if quantity.per is not None:
        raise QuantityError(
            f"{raw!r} is per {quantity.per}; a plain energy quantity is needed here"
        )
    return quantity.value


def _scaled(value: float, steps: list[tuple[float, str]], base_unit: str) -> str:
    magnitude = abs(value)
    for factor, unit in steps:
        if magnitude >= factor:
            return f"{_significant(value / factor)} {unit}"
    if value == 0:
        return f"0 {base_unit}"
    factor, unit = steps[-1]
    return f"{_significant(value / factor)} {unit}"


def _significant(value: float) -> str:
    """Three significant digits without trailing zeros: 12.4, 3.1, 0.812."""
    if value == 0:
        return "0"
    if not math.isfinite(value):  # a summary must print whatever it is given
        return str(value)
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_ENERGY_STEPS = [
    (3.6e6, "kWh"),
    (3600.0, "Wh"),
    (1e3, "kJ"),
    (1.0, "J"),
    (1e-3, "mJ"),
    (1e-6, "uJ"),
]
_CARBON_STEPS = [(1e3, "kgCO2e"), (1.0, "gCO2e"), (1e-3, "mgCO2e"), (1e-6, "ugCO2e")]


def format_joules(joules: float) -> str:
    """Readable energy: 12.4 J, 3.1 kJ, 0.8 Wh stays 2.88 kJ below one Wh."""
    return _scaled(joules, _ENERGY_STEPS, "J")


def format_grams(grams: float) -> str:
    """Readable carbon: 1.2 mgCO2e, 3.4 gCO2e."""
    return _scaled(grams, _CARBON_STEPS, "gCO2e")


def format_per_unit(value: float, kind: Kind, per: str | None) -> str:
    """A figure per unit of work, e.g. ``0.41 mJ/sample``; plain when ``per`` is None."""
    text = format_joules(value) if kind == "energy" else format_grams(value)
    return text if per is None else f"{text}/{per}"
