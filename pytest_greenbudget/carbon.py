"""Grid carbon intensity: configured, or looked up in codecarbon's per-country data.

The data file is read directly: importing codecarbon costs 0.12 s and its own
conversion path loads pandas (0.28 s), both for a number in a JSON file.
"""

from __future__ import annotations

import importlib.util
import json
import math
from functools import cache
from pathlib import Path

#: World average, gCO2e per kWh (codecarbon's default).
WORLD_INTENSITY = 475.0


class CarbonDataError(Exception):
    """The country is unknown or codecarbon's data cannot be read."""


def codecarbon_data_dir() -> Path:
    """codecarbon's ``data`` folder, found without executing codecarbon's ``__init__``."""
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise CarbonDataError(
            "codecarbon is not installed; install pytest-greenbudget's dependencies"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def _country_table() -> dict[str, float]:
    path = codecarbon_data_dir() / "private_infra" / "global_energy_mix.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CarbonDataError(f"cannot read codecarbon's grid data {path}: {exc}") from exc
    table: dict[str, float] = {}
    for code, row in raw.items():
        value = row.get("carbon_intensity") if isinstance(row, dict) else None
        if isinstance(value, (int, float)):
            table[str(code)] = float(value)
    return table


def country_intensity(code: str) -> float:
    """gCO2e per kWh of a country's grid, by ISO 3166-1 alpha-3 code (e.g. ``KOR``)."""
    intensity = _country_table().get(code.upper())
    if intensity is None:
        raise CarbonDataError(
            f"unknown country {code!r}: expected an ISO 3166-1 alpha-3 code found in "
            "codecarbon's grid data, e.g. 'USA', 'FRA', 'KOR'"
        )
    return intensity


def joules_to_grams(joules: float, intensity_g_per_kwh: float) -> float:
    """Grams of CO2e for an amount of energy at a grid intensity.

    A result that is not finite (only from inputs past the settings' bounds) is a
    MeterError: the entry is then unmeasured, never an infinite number in a report.
    """
    grams = joules / 3.6e6 * intensity_g_per_kwh
    if not math.isfinite(grams):
        from pytest_greenbudget.meters.base import MeterError

        raise MeterError(
            f"{joules:g} J at {intensity_g_per_kwh:g} gCO2e/kWh is not a finite mass of CO2e"
        )
    return grams
