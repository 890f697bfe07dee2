"""Unit tests for grid carbon intensity (SPEC sections 3 and 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_greenbudget import carbon
from pytest_greenbudget.carbon import (
    WORLD_INTENSITY,
    CarbonDataError,
    codecarbon_data_dir,
    country_intensity,
    joules_to_grams,
)


def test_world_average_default() -> None:
    assert WORLD_INTENSITY == 475.0


@pytest.mark.parametrize("code", ["KOR", "kor", "Kor"])
def test_korea_any_case(code: str) -> None:
    assert country_intensity(code) == pytest.approx(430.6, abs=0.05)


def test_lookup_matches_codecarbon_data_file() -> None:
    path = codecarbon_data_dir() / "private_infra" / "global_energy_mix.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for code in ("FRA", "USA", "DEU"):
        assert country_intensity(code) == pytest.approx(float(data[code]["carbon_intensity"]))
    # France's nuclear grid is far cleaner than the world average
    assert country_intensity("FRA") < WORLD_INTENSITY


@pytest.mark.parametrize("code", ["XXX", "ZZZ", "", "KOREA", "KO", "K0R"])
def test_unknown_country_error_names_code_and_expected_form(code: str) -> None:
    with pytest.raises(CarbonDataError) as info:
        country_intensity(code)
    text = str(info.value)
    assert repr(code) in text
    assert "alpha-3" in text


def test_data_dir_is_codecarbons() -> None:
    directory = codecarbon_data_dir()
    assert directory.name == "data"
    assert directory.parent.name == "codecarbon"
    assert (directory / "private_infra" / "global_energy_mix.json").is_file()


def test_missing_codecarbon_is_a_carbon_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(carbon.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CarbonDataError, match="codecarbon is not installed"):
        codecarbon_data_dir()


def test_unreadable_data_file_is_a_carbon_data_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "private_infra").mkdir()
    (tmp_path / "private_infra" / "global_energy_mix.json").write_text("{not json", "utf-8")
    monkeypatch.setattr(carbon, "codecarbon_data_dir", lambda: tmp_path)
    carbon._country_table.cache_clear()
    try:
        with pytest.raises(CarbonDataError, match="cannot read codecarbon's grid data"):
            country_intensity("KOR")
    finally:
        monkeypatch.undo()
        carbon._country_table.cache_clear()
    assert country_intensity("KOR") == pytest.approx(430.6, abs=0.05)


@pytest.mark.parametrize(("joules", "intensity", "grams"), [
    (3.6e6, 475.0, 475.0),   # one kWh at the world average
    (3.6e6, 0.0, 0.0),
    (0.0, 475.0, 0.0),
    (1800.0, 100.0, 0.05),   # half a Wh at 100 g/kWh
    (12.3, 475.0, 12.3 / 3.6e6 * 475.0),
])
def test_joules_to_grams(joules: float, intensity: float, grams: float) -> None:
    assert joules_to_grams(joules, intensity) == pytest.approx(grams, rel=1e-12, abs=0.0)


def test_using_carbon_does_not_import_codecarbon_or_heavy_modules() -> None:
    code = textwrap.dedent(
        """
        import sys
        from pytest_greenbudget import carbon
        assert carbon.country_intensity("KOR") > 0
        carbon.joules_to_grams(10.0, 475.0)
        carbon.codecarbon_data_dir()
        heavy = [m for m in ("codecarbon", "pandas", "numpy", "pynvml", "torch")
                 if m in sys.modules]
        print(heavy)
        sys.exit(1 if heavy else 0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
