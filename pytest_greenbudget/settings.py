"""Read ``[tool.greenbudget]`` and the command line once into one validated, frozen object.

Every problem is found here, before any test runs, and reported as one
``pytest.UsageError`` that names the file and the key: a misconfigured energy gate
should stop CI at once, not after an hour of tests.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from pytest_greenbudget.carbon import WORLD_INTENSITY, CarbonDataError, country_intensity
from pytest_greenbudget.quantity import Quantity, QuantityError, parse_energy, parse_quantity
from pytest_greenbudget.summary import SUMMARY_MODES, SummaryMode

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
    "cpu_watts",
    "cpu_model",
    "history",
    "summary",
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
    cpu_watts: float | None = None
    cpu_model: str | None = None
    patterns: tuple[Pattern, ...] = field(default_factory=tuple)
    save: bool = False
    profile: str | None = None
    json_path: Path | None = None
    markdown_path: Path | None = None
    #: Warnings about the configuration that do not stop the run (a look-alike table).
    notices: tuple[str, ...] = ()
    #: SPEC 15: the HTML report, the history folder, and which summary rows to print.
    html_path: Path | None = None
    history_path: Path | None = None
    summary: SummaryMode | None = None

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


#: Above these, products with seconds or joules could overflow a float; no real CPU package
#: draws a megawatt, and no grid emits 100 kg of CO2e per kWh (coal: about 1 kg).
MAX_TDP_WATTS = 1e6
MAX_INTENSITY = 1e5


def _at_most(value: float, maximum: float, raw: object, unit: str) -> float:
    if value > maximum:
        raise _expect(f"a number <= {maximum:g} {unit}", raw)
    return value


def _as_tdp(raw: object) -> float:
    return _at_most(as_float(raw, strict=True), MAX_TDP_WATTS, raw, "W")


def _as_intensity(raw: object) -> float:
    return _at_most(as_float(raw), MAX_INTENSITY, raw, "gCO2e/kWh")


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


def as_summary(raw: object) -> SummaryMode:
    for mode in SUMMARY_MODES:
        if raw == mode:
            return mode
    raise _expect("'all', 'changes' or 'none'", raw)


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


class _TableData(dict[str, Any]):
    """The ``[tool.greenbudget]`` table, with warnings about look-alike tables beside it."""

    notices: tuple[str, ...] = ()


def _read_table(path: Path) -> dict[str, Any]:
    """The ``[tool.greenbudget]`` table of ``path`` (a _TableData)."""
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
    except UnicodeDecodeError as exc:  # TOML is UTF-8; tomllib raises this one raw
        raise pytest.UsageError(
            f"greenbudget: {path} is not valid TOML: not UTF-8 text "
            f"(byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        ) from None
    tool = document.get("tool", {})
    table = tool.get("greenbudget", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise pytest.UsageError(f"greenbudget: {path}: [tool.greenbudget] must be a table")
    data = _TableData(table)
    data.notices = tuple(misspelt_tables(path, document))
    return data


def misspelt_tables(path: Path, document: Mapping[str, Any]) -> list[str]:
    """A warning for each table that looks meant as ``[tool.greenbudget]`` but is not it."""
    import difflib

    def close(name: str) -> bool:
        lowered = name.lower().replace("-", "").replace("_", "")
        return name != "greenbudget" and (
            lowered == "greenbudget"
            or bool(difflib.get_close_matches(lowered, ["greenbudget"], n=1, cutoff=0.75))
        )

    found: list[str] = []
    tool = document.get("tool")
    if isinstance(tool, dict):
        found += [f"[tool.{name}]" for name in tool if isinstance(name, str) and close(name)]
    found += [f"[{name}]" for name in document if isinstance(name, str) and close(name)]
    if "greenbudget" in document:  # [greenbudget] at the top, without "tool."
        found.append("[greenbudget]")
    return [
        f"greenbudget: {path} has a table {name}, which is not read; "
        "did you mean [tool.greenbudget]?"
        for name in found
    ]


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


def path_problem(raw: str) -> str | None:
    """Why ``raw`` can never name a file (NUL byte, name too long, ...), or None."""
    if "\x00" in raw:
        return f"a path cannot hold a NUL byte, got {raw!r}"
    try:
        os.stat(raw)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None  # may be created, or is reported where it is read
    except (OSError, ValueError) as exc:  # too long, a loop, not encodable
        return f"cannot be used as a path: {getattr(exc, 'strerror', None) or exc}"
    return None


def as_path(raw: object) -> str:
    text = as_string(raw)
    problem = path_problem(text)
    if problem is not None:
        raise SettingError(problem)
    return text


def _option_path(config: pytest.Config, name: str) -> Path | None:
    value = config.getoption(name)
    if value is None:
        return None
    flag = "--" + name.replace("_", "-")
    problem = path_problem(str(value)) if value else "expected a path, got ''"
    if problem is not None:
        raise pytest.UsageError(f"greenbudget: {flag}: {problem}")
    return config.invocation_params.dir / str(value)


def _config_path(config: pytest.Config, rootdir: Path) -> Path | None:
    """The file the table is read from: --greenbudget-config, else rootdir's pyproject.toml."""
    explicit = _option_path(config, "greenbudget_config")
    if explicit is None:
        candidate = rootdir / "pyproject.toml"
        return candidate if candidate.is_file() else None
    shown = config.getoption("greenbudget_config")
    if explicit.is_dir():
        raise pytest.UsageError(
            f"greenbudget: --greenbudget-config {shown} is a directory; "
            "name a TOML file, such as its pyproject.toml"
        )
    if not explicit.is_file():
        raise pytest.UsageError(f"greenbudget: --greenbudget-config file {shown} does not exist")
    return explicit


def report_paths(settings: Settings) -> dict[str, Path]:
    """Every report file asked for, by its option: the fields named ``<report>_path``."""
    import dataclasses

    return {
        f"--greenbudget-{f.name.removesuffix('_path')}": value
        for f in dataclasses.fields(settings)
        if f.name.endswith("_path")
        and f.name != "baseline_path"
        and isinstance(value := getattr(settings, f.name), Path)
    }


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)  # a hard link
    except (OSError, ValueError):
        return False


def check_report_paths(settings: Settings) -> None:
    """A report written over the baseline, the config file or another report destroys it."""
    precious = [("the baseline file", settings.baseline_path)]
    if settings.source != "built-in defaults":
        precious.append(("the configuration file", Path(settings.source)))
    seen: list[tuple[str, Path]] = []
    for option, path in report_paths(settings).items():
        for what, other in [*precious, *seen]:
            if _same_file(path, other):
                raise pytest.UsageError(
                    f"greenbudget: {option} {path} is {what} {other}; the report would "
                    "overwrite it. Write the report to another path."
                )
        seen.append((f"the report of {option}", path))


def load_settings(config: pytest.Config) -> Settings:
    """Settings for this run: CLI > marker > budgets pattern > [tool.greenbudget] > defaults."""
    settings = _load_settings(config)
    check_report_paths(settings)
    return settings


def _load_settings(config: pytest.Config) -> Settings:
    rootdir = Path(config.rootpath)
    path = _config_path(config, rootdir)
    data = _read_table(path) if path is not None else {}
    notices: tuple[str, ...] = getattr(data, "notices", ())
    table = _Table(data, str(path), "[tool.greenbudget] ")
    table.check_keys(TABLE_KEYS)

    intensity = table.get("carbon_intensity", _as_intensity)
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

    baseline = table.get("baseline", as_path)
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

    history = table.get("history", as_string)
    summary = table.get("summary", as_summary)
    cli_summary = config.getoption("greenbudget_summary", None)
    if cli_summary is not None:
        try:
            summary = as_summary(cli_summary)
        except SettingError as exc:
            raise pytest.UsageError(f"greenbudget: --greenbudget-summary: {exc}") from None

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
        cpu_tdp_watts=table.get("cpu_tdp_watts", _as_tdp),
        cpu_watts=table.get("cpu_watts", _as_tdp),
        cpu_model=table.get("cpu_model", as_string),
        patterns=_patterns(table),
        save=bool(config.getoption("greenbudget_save")),
        profile=config.getoption("greenbudget_profile"),
        json_path=_option_path(config, "greenbudget_json"),
        markdown_path=_option_path(config, "greenbudget_markdown"),
        notices=notices,
        html_path=_option_path(config, "greenbudget_html"),
        history_path=_option_path(config, "greenbudget_history")
        or (rootdir / history if history else None),
        summary=summary,
    )


def _first(value: T | None, default: T) -> T:
    return default if value is None else value
