"""Read ``[tool.greenbudget]`` and the command line once into one validated, frozen object.

Every problem is found here, before any test runs, and reported as one
``pytest.UsageError`` that names the file and the key: a misconfigured energy gate
should stop CI at once, not after an hour of tests.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from pytest_greenbudget.carbon import WORLD_INTENSITY, CarbonDataError, country_intensity
from pytest_greenbudget.quantity import Quantity, QuantityError, parse_energy, parse_quantity

OnExceed = Literal["fail", "warn"]
Phases = Literal["call", "all"]
T = TypeVar("T")

TABLE_KEYS = (
    "meter",
    "on_exceed",
    "default_budget",
    "tolerance",
    "min_delta",
    "baseline",
    "carbon_intensity",
    "country",
    "rounds",
    "max_rounds",
    "warmup",
    "phases",
    "measure_all",
    "cpu_tdp_watts",
    "budgets",
)
#: What a marker, a budgets pattern or a region may set for itself.
OVERRIDE_KEYS = ("budget", "tolerance", "on_exceed", "rounds", "warmup", "max_rounds")


class SettingError(ValueError):
    """One bad value; the caller adds where it came from (file and key, or marker)."""


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """Per-test settings from a marker, a budgets pattern or a region; None = not given."""

    budget: Quantity | None = None
    tolerance: float | None = None
    on_exceed: OnExceed | None = None
    rounds: int | None = None
    warmup: int | None = None
    max_rounds: int | None = None


@dataclass(frozen=True)
class Pattern(Overrides):
    """One ``[tool.greenbudget.budgets]`` entry."""

    pattern: str


@dataclass(frozen=True)
class Settings:
    """Everything the plugin needs to know about this run, validated."""

    rootdir: Path
    source: str = "built-in defaults"
    meter_specs: tuple[str, ...] = ("auto",)
    meter_source: str = "the built-in default"
    on_exceed: OnExceed = "fail"
    warn_only: bool = False
    default_budget: Quantity | None = None
    tolerance: float = 0.10
    #: Smaller changes are never findings (1.25 ms of one CPU at 4 W); the noise model,
    #: not this floor, keeps short tests from flapping (README, "Noise-aware verdicts").
    min_delta: float = 0.005
    baseline_path: Path = Path(".greenbudget/baseline.json")
    carbon_intensity: float = WORLD_INTENSITY
    intensity_source: str = "world average"
    country: str | None = None
    rounds: int = 1
    #: None: not set, so only a test with rounds > 1 may run more rounds to decide.
    max_rounds: int | None = None
    warmup: int = 0
    phases: Phases = "call"
    measure_all: bool = False
    cpu_tdp_watts: float | None = None
    patterns: tuple[Pattern, ...] = field(default_factory=tuple)
    save: bool = False
    profile: str | None = None
    json_path: Path | None = None
    markdown_path: Path | None = None

    def pattern_for(self, nodeid: str) -> Pattern | None:
        """The longest matching budgets pattern; an exact node id always matches itself."""
        if not self.patterns:
            return None
        matches = [
            p for p in self.patterns if p.pattern == nodeid or fnmatchcase(nodeid, p.pattern)
        ]
        return max(matches, key=lambda p: len(p.pattern), default=None)


# Validators: each takes the raw value and returns the typed one or raises SettingError.


def _expect(kind: str, raw: object) -> SettingError:
    return SettingError(f"expected {kind}, got {raw!r}")


def as_float(raw: object, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise _expect("a number", raw)
    try:
        value = float(raw)
    except OverflowError:
        raise _expect("a finite number", raw) from None
    if math.isnan(value) or math.isinf(value):
        raise _expect("a finite number", raw)
    if value < minimum or (strict and value == minimum):
        raise _expect(f"a number {'>' if strict else '>='} {minimum:g}", raw)
    return value


def as_int(raw: object, *, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _expect(f"an integer >= {minimum}", raw)
    if raw < minimum:
        raise _expect(f"an integer >= {minimum}", raw)
    return raw


def as_bool(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _expect("true or false", raw)
    return raw


def as_on_exceed(raw: object) -> OnExceed:
    if raw == "fail":
        return "fail"
    if raw == "warn":
        return "warn"
    raise _expect("'fail' or 'warn'", raw)


def as_phases(raw: object) -> Phases:
    if raw == "call":
        return "call"
    if raw == "all":
        return "all"
    raise _expect("'call' or 'all'", raw)


def as_quantity(raw: object) -> Quantity:
    try:
        return parse_quantity(raw)
    except QuantityError as exc:
        raise SettingError(str(exc)) from exc


def as_energy(raw: object) -> float:
    try:
        return parse_energy(raw)
    except QuantityError as exc:
        raise SettingError(str(exc)) from exc


def as_meter_specs(raw: object) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise _expect("a meter name or a non-empty list of meter names", raw)
    specs: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _expect("meter names as strings", raw)
        for part in item.split(","):
            if not part.strip():
                raise _expect("meter names without empty parts", raw)
            if part.strip() not in specs:
                specs.append(part.strip())
    return tuple(specs)


def as_string(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise _expect("a non-empty string", raw)
    return raw


class OverrideError(SettingError):
    """A bad override value, with the key it was given for."""

    def __init__(self, key: str, raw: object, problem: SettingError) -> None:
        super().__init__(str(problem))
        self.key, self.raw = key, raw


def _as_rounds(raw: object) -> int:
    return as_int(raw, minimum=1)


def _as_warmup(raw: object) -> int:
    return as_int(raw, minimum=0)


_OVERRIDE_CHECKS: dict[str, Callable[[object], object]] = {
    "budget": lambda raw: as_quantity(raw),
    "tolerance": lambda raw: as_float(raw),
    "on_exceed": lambda raw: as_on_exceed(raw),
    "rounds": _as_rounds,
    "warmup": _as_warmup,
    "max_rounds": _as_rounds,
}


def parse_overrides(values: Mapping[str, object]) -> dict[str, Any]:
    """Validate the given overrides (a None value counts as not given)."""
    parsed: dict[str, Any] = {}
    for key, check in _OVERRIDE_CHECKS.items():
        raw = values.get(key)
        if raw is not None:
            try:
                parsed[key] = check(raw)
            except SettingError as exc:
                raise OverrideError(key, raw, exc) from None
    rounds, max_rounds = parsed.get("rounds"), parsed.get("max_rounds")
    if rounds is not None and max_rounds is not None and max_rounds < rounds:
        problem = SettingError(f"must be >= rounds ({rounds}), got {max_rounds}")
        raise OverrideError("max_rounds", values.get("max_rounds"), problem)
    return parsed


def suggest(key: str, valid: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(valid)}"


class _Table:
    """A TOML table whose errors name the file and the dotted key."""

    def __init__(self, data: Mapping[str, Any], where: str, prefix: str) -> None:
        self.data, self.where, self.prefix = data, where, prefix

    def error(self, key: str, message: str) -> pytest.UsageError:
        return pytest.UsageError(f"greenbudget: {self.where}: {self.prefix}{key}: {message}")

    def check_keys(self, valid: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in valid:
                raise self.error(key, f"unknown key{suggest(key, valid)}")

    def get(self, key: str, convert: Callable[[object], T]) -> T | None:
        if key not in self.data:
            return None
        try:
            return convert(self.data[key])
        except SettingError as exc:
            raise self.error(key, str(exc)) from None


def _read_table(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):  # imported here: a project without the file never pays
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise pytest.UsageError(f"greenbudget: cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise pytest.UsageError(f"greenbudget: {path} is not valid TOML: {exc}") from None
    tool = document.get("tool", {})
    table = tool.get("greenbudget", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise pytest.UsageError(f"greenbudget: {path}: [tool.greenbudget] must be a table")
    return table


def _patterns(table: _Table) -> tuple[Pattern, ...]:
    raw = table.data.get("budgets")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise table.error("budgets", _expect("a table of node-id patterns", raw).args[0])
    patterns = []
    for pattern, value in raw.items():
        entry = _Table({}, table.where, f"{table.prefix}budgets.{pattern!r}")
        if isinstance(value, dict):
            sub = _Table(value, table.where, f"{table.prefix}budgets.{pattern!r}.")
            sub.check_keys(OVERRIDE_KEYS)
            try:
                patterns.append(Pattern(pattern, **parse_overrides(value)))
            except OverrideError as exc:
                raise sub.error(exc.key, str(exc)) from None
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            try:
                patterns.append(Pattern(pattern, budget=as_quantity(value)))
            except SettingError as exc:
                raise entry.error("", str(exc)) from None
        else:
            raise entry.error(
                "", _expect("a quantity or an inline table of settings", value).args[0]
            )
    return tuple(patterns)


def _option_path(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name)
    return None if value is None else config.invocation_params.dir / value


def load_settings(config: pytest.Config) -> Settings:
    """Settings for this run: CLI > marker > budgets pattern > [tool.greenbudget] > defaults."""
    rootdir = Path(config.rootpath)
    explicit = config.getoption("greenbudget_config")
    if explicit is not None:
        path: Path | None = config.invocation_params.dir / explicit
        assert path is not None
        if not path.is_file():
            raise pytest.UsageError(
                f"greenbudget: --greenbudget-config file {explicit} does not exist"
            )
    else:
        candidate = rootdir / "pyproject.toml"
        path = candidate if candidate.is_file() else None
    data = _read_table(path) if path is not None else {}
    table = _Table(data, str(path), "[tool.greenbudget] ")
    table.check_keys(TABLE_KEYS)

    intensity = table.get("carbon_intensity", lambda v: as_float(v))
    country = table.get("country", as_string)
    if intensity is not None and country is not None:
        raise table.error("country", "give either 'country' or 'carbon_intensity', not both")
    intensity_source = "world average"
    if country is not None:
        try:
            intensity = country_intensity(country)
        except CarbonDataError as exc:
            raise table.error("country", str(exc)) from None
        intensity_source = f"codecarbon grid data for {country.upper()}"
    elif intensity is not None:
        intensity_source = "carbon_intensity setting"

    baseline = table.get("baseline", as_string)
    meter_specs = table.get("meter", as_meter_specs)
    cli_meter = config.getoption("greenbudget_meter")
    if cli_meter is not None:
        try:
            meter_specs = as_meter_specs(cli_meter)
        except SettingError as exc:
            raise pytest.UsageError(f"greenbudget: --greenbudget-meter: {exc}") from None
        meter_source = "--greenbudget-meter"
    elif meter_specs is not None:
        meter_source = f"{path}: [tool.greenbudget] meter"
    else:
        meter_source = "the built-in default"
    measure_all = table.get("measure_all", as_bool)

    defaults = Settings(rootdir=rootdir)
    rounds = _first(table.get("rounds", _as_rounds), defaults.rounds)
    max_rounds = table.get("max_rounds", _as_rounds)
    if max_rounds is not None and max_rounds < rounds:
        raise table.error("max_rounds", f"must be >= rounds ({rounds}), got {max_rounds}")
    return Settings(
        rootdir=rootdir,
        source=str(path) if path is not None else "built-in defaults",
        meter_specs=meter_specs or defaults.meter_specs,
        meter_source=meter_source,
        on_exceed=table.get("on_exceed", as_on_exceed) or defaults.on_exceed,
        warn_only=bool(config.getoption("greenbudget_warn_only")),
        default_budget=table.get("default_budget", as_quantity),
        tolerance=_first(table.get("tolerance", as_float), defaults.tolerance),
        min_delta=_first(table.get("min_delta", as_energy), defaults.min_delta),
        baseline_path=rootdir / (baseline or defaults.baseline_path),
        carbon_intensity=_first(intensity, defaults.carbon_intensity),
        intensity_source=intensity_source,
        country=country.upper() if country else None,
        rounds=rounds,
        max_rounds=max_rounds,
        warmup=_first(table.get("warmup", _as_warmup), defaults.warmup),
        phases=table.get("phases", as_phases) or defaults.phases,
        measure_all=bool(config.getoption("greenbudget_all")) or bool(measure_all),
        cpu_tdp_watts=table.get("cpu_tdp_watts", lambda v: as_float(v, strict=True)),
        patterns=_patterns(table),
        save=bool(config.getoption("greenbudget_save")),
        profile=config.getoption("greenbudget_profile"),
        json_path=_option_path(config, "greenbudget_json"),
        markdown_path=_option_path(config, "greenbudget_markdown"),
    )


def _first(value: T | None, default: T) -> T:
    return default if value is None else value
