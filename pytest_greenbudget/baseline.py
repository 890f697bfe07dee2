"""The baseline file: load and validate it, name the profile, save it atomically.

The file is committed to the project and reviewed as a diff, so it is written with
sorted keys and indentation, and it is never left half-written: a run that is killed,
or a full disk, leaves the previous file byte for byte. A corrupt file is an error the
user must see (never silently replaced), because replacing it would throw away every
other profile's numbers.

Shape::

    {"schema": "greenbudget-baseline/1",
     "profiles": {"<profile>": {"machine": {...},
                                "entries": {"<id>": {"joules": 12.3, "seconds": 0.5,
                                                     "samples": [12.1, 12.3, 12.9]}}}}}

``samples`` (the joules of each round of the saving run) is optional: files written
before it existed stay valid, and their entries count as one reading.

An entry of a test that recorded work (SPEC section 14) also has ``"work": {"count": n,
"unit": "sample"}`` and ``"joules_per_unit"``, so later runs compare it per unit.

Keys this module does not know (at the top, in a profile, in an entry) are accepted
and kept on save, so a newer writer or a hand-written note does not break an older reader:
a re-saved entry is the old one with this run's numbers written over it (the keys in
OWNED_ENTRY_KEYS are this plugin's own and are replaced as a whole). A profile's
``machine`` describes the machine of the last save and is rewritten by it.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import math
import os
import platform
import re
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pytest_greenbudget.meters.base import Meter
    from pytest_greenbudget.work import UnitBaseline

SCHEMA = "greenbudget-baseline/1"

#: The most per-round samples an entry keeps (SPEC 7).
MAX_SAMPLES = 50

#: Profile slugs longer than this are shortened and given a hash suffix to stay unique.
MAX_PROFILE_LENGTH = 60

_FIX_HINT = "fix it, or delete it and rebuild it with --greenbudget-save"


class BaselineError(Exception):
    """The baseline file cannot be read, is corrupt, or cannot be written; names the file."""


_EMPTY: Mapping[str, Mapping[str, object]] = MappingProxyType({})


class Profile(NamedTuple):
    """One profile's machine description and its entries (entry id -> recorded numbers)."""

    machine: Mapping[str, object]
    entries: Mapping[str, Mapping[str, object]]


@dataclass(frozen=True)
class Baseline:
    """A validated baseline file; every ``joules`` value is a finite float >= 0."""

    path: Path
    profiles: Mapping[str, Profile] = field(default_factory=lambda: MappingProxyType({}))
    #: False when the file does not exist (an empty baseline, not an error).
    exists: bool = False

    def entries(self, profile: str) -> Mapping[str, Mapping[str, object]]:
        """The entries of ``profile``; empty when the profile is not in the file."""
        found = self.profiles.get(profile)
        return found.entries if found is not None else _EMPTY

    def joules(self, profile: str, entry_id: str) -> float | None:
        """The recorded joules of one entry, or None when it has none (a new entry)."""
        entry = self.entries(profile).get(entry_id)
        if entry is None:
            return None
        value = entry["joules"]
        assert isinstance(value, float)  # guaranteed by validation
        return value

    def per_unit(self, profile: str, entry_id: str) -> UnitBaseline | None:
        """The entry's joules per unit of work and the unit, when it recorded work."""
        entry = self.entries(profile).get(entry_id)
        if entry is None or entry.get("work") is None:
            return None
        from pytest_greenbudget.work import unit_baseline

        return unit_baseline(entry)

    def seconds(self, profile: str, entry_id: str) -> float | None:
        """The recorded seconds of one entry (None when not timed or not there)."""
        entry = self.entries(profile).get(entry_id)
        value = entry.get("seconds") if entry is not None else None
        return float(value) if isinstance(value, int | float) else None

    def imported(self, profile: str, entry_id: str) -> int:
        """Modules the saving run first imported in this entry's call (its energy has them)."""
        entry = self.entries(profile).get(entry_id)
        value = entry.get("imported") if entry is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def samples(self, profile: str, entry_id: str) -> tuple[float, ...]:
        """The saving run's rounds of one entry; empty when the file kept none."""
        entry = self.entries(profile).get(entry_id)
        raw = entry.get("samples") if entry is not None else None
        if not isinstance(raw, list):
            return ()
        return tuple(float(x) for x in raw[:MAX_SAMPLES])

    def count(self, profile: str) -> int:
        """How many entries ``profile`` has (0 for an unknown profile)."""
        return len(self.entries(profile))


# --------------------------------------------------------------------------- reading


def load_baseline(path: Path) -> Baseline:
    """Read and validate the baseline file; a missing file is an empty baseline.

    Raises BaselineError for an unreadable, non-UTF-8, non-JSON, wrongly shaped or
    wrong-schema file. Never writes.
    """
    data = _read_raw(path)
    if data is None:
        return Baseline(path=path)
    profiles: dict[str, Profile] = {}
    for name, raw in data["profiles"].items():
        entries = {
            entry_id: MappingProxyType({**entry, "joules": float(entry["joules"])})
            for entry_id, entry in raw["entries"].items()
        }
        profiles[name] = Profile(
            machine=MappingProxyType(dict(raw["machine"])),
            entries=MappingProxyType(entries),
        )
    return Baseline(path=path, profiles=MappingProxyType(profiles), exists=True)


def _read_raw(path: Path) -> dict[str, Any] | None:
    """The validated JSON document at ``path``, or None when there is no file."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BaselineError(f"baseline file {path} cannot be read: {exc}") from exc
    try:
        # utf-8-sig: a byte-order mark from a Windows editor is still valid UTF-8.
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BaselineError(f"baseline file {path} is not UTF-8 text: {exc}; {_FIX_HINT}") from exc
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise BaselineError(
            f"baseline file {path} is corrupt: duplicate key {exc.key!r} "
            f"(a bad merge?); {_FIX_HINT}"
        ) from None
    except (ValueError, RecursionError) as exc:  # also: ints over the digit limit, deep nesting
        raise BaselineError(f"baseline file {path} is not valid JSON: {exc}; {_FIX_HINT}") from exc
    _validate(path, data)
    return data  # type: ignore[no-any-return]  # validated just above


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject duplicate keys, which json would silently resolve to the last one."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _validate(path: Path, data: object) -> None:
    """Raise BaselineError naming the first place where ``data`` has the wrong shape."""

    def corrupt(where: str, what: str, got: object) -> BaselineError:
        return BaselineError(
            f"baseline file {path} is corrupt: {where} must be {what}, "
            f"got {_show(got)}; {_FIX_HINT}"
        )

    if not isinstance(data, dict):
        raise corrupt("the top level", "a JSON object", data)
    if "schema" not in data:
        raise corrupt("the top level", f"an object with 'schema': {SCHEMA!r}", data)
    if data["schema"] != SCHEMA:
        raise BaselineError(
            f"baseline file {path} has schema {_show(data['schema'])}, expected {SCHEMA!r} "
            "(written by another version of pytest-greenbudget?); "
            "upgrade the plugin, or delete the file and rebuild it with --greenbudget-save"
        )
    if not isinstance(data.get("profiles"), dict):
        raise corrupt("profiles", "an object", data.get("profiles", "nothing"))
    for name, profile in data["profiles"].items():
        where = f"profiles.{name}"
        if not name:
            raise corrupt("a profile name", "a non-empty string", name)
        if not isinstance(profile, dict):
            raise corrupt(where, "an object", profile)
        if not isinstance(profile.get("machine"), dict):
            raise corrupt(f"{where}.machine", "an object", profile.get("machine", "nothing"))
        if not isinstance(profile.get("entries"), dict):
            raise corrupt(f"{where}.entries", "an object", profile.get("entries", "nothing"))
        for entry_id, entry in profile["entries"].items():
            problem = _entry_problem(entry)
            if problem is not None:
                suffix, what, got = problem
                raise corrupt(f"{where}.entries.{entry_id}{suffix}", what, got)


def _entry_problem(entry: object) -> tuple[str, str, object] | None:
    """(location suffix, expectation, bad value) for a malformed entry, else None."""
    if not isinstance(entry, dict):
        return "", "an object", entry
    if "joules" not in entry:
        return "", "an object with 'joules'", entry
    if not _is_non_negative_number(entry["joules"]):
        return ".joules", "a non-negative number", entry["joules"]
    seconds = entry.get("seconds")
    if seconds is not None and not _is_non_negative_number(seconds):  # null: not timed
        return ".seconds", "a non-negative number or null", seconds
    if "work" in entry:  # optional (SPEC section 14); files written before it stay valid
        from pytest_greenbudget.work import work_from_json

        try:
            work_from_json(entry["work"])
        except ValueError:
            return ".work", "{'count': a number > 0, 'unit': a name} or null", entry["work"]
    per_unit = entry.get("joules_per_unit")
    if per_unit is not None and not _is_non_negative_number(per_unit):
        return ".joules_per_unit", "a non-negative number or null", per_unit
    if "samples" in entry:
        samples = entry["samples"]
        if (
            not isinstance(samples, list)
            or not samples
            or not all(_is_non_negative_number(x) for x in samples)
        ):
            return ".samples", "a non-empty list of non-negative numbers", samples
    return None


def _is_non_negative_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # an int too large for a float
        return False


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- saving


def save_baseline(
    path: Path,
    profile: str,
    machine: Mapping[str, object],
    results: Mapping[str, Mapping[str, object]],
) -> None:
    """Merge ``results`` into ``profile`` of the file at ``path`` and write it atomically.

    The file is re-read first, under an exclusive lock (savelock.py) held until the rename,
    so entries of other tests and other profiles, edits made since the run started and the
    entries of another run saving at the same moment are all kept. A corrupt file, or a
    result that would make one (joules missing, negative, NaN), is refused before anything
    is written. Any OS error while writing leaves the old file byte for byte, removes the
    temporary file and raises BaselineError; an interrupt (KeyboardInterrupt) cleans up the same way
    and propagates.
    """
    if not isinstance(profile, str) or not profile:
        raise ValueError(f"baseline profile must be a non-empty string, got {profile!r}")
    for entry_id, entry in results.items():
        # A BaselineError, not a bug report: a glitching meter can produce a negative
        # delta, and the caller turns BaselineError into a warning, not an INTERNALERROR.
        problem = _entry_problem(dict(entry))
        if problem is not None:
            suffix, what, got = problem
            raise BaselineError(
                f"cannot save baseline file {path}: result {entry_id}{suffix} must be {what}, "
                f"got {_show(got)}; nothing was written"
            )

    target = _link_target(path)
    from pytest_greenbudget.savelock import save_lock

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # One critical section: another run saving now re-reads after our rename.
        with save_lock(target.parent):
            _merge_and_write(path, target, profile, machine, results)
    except OSError as exc:  # the folder cannot be made, or the lock was held too long
        raise BaselineError(f"cannot save baseline file {path}: {exc}") from exc


#: Entry keys this plugin writes; a re-save drops those it no longer gives (stale numbers).
OWNED_ENTRY_KEYS = ("joules", "seconds", "samples", "imported", "work", "joules_per_unit")


def _merge_and_write(
    path: Path,
    target: Path,
    profile: str,
    machine: Mapping[str, object],
    results: Mapping[str, Mapping[str, object]],
) -> None:
    data = _read_raw(target)
    if data is None:
        data = {"schema": SCHEMA, "profiles": {}}
    slot = data["profiles"].setdefault(profile, {"machine": {}, "entries": {}})
    slot["machine"] = dict(machine)
    entries = slot["entries"]
    for entry_id, entry in results.items():
        kept = {k: v for k, v in entries.get(entry_id, {}).items() if k not in OWNED_ENTRY_KEYS}
        entries[entry_id] = {**kept, **entry}
    try:
        text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BaselineError(f"cannot save baseline file {path}: {exc}") from exc
    # A lone surrogate (an id from undecodable bytes) cannot be UTF-8: write it as the JSON
    # escape it came from ("\\udcff"), which reads back as the same id. Strings are the only
    # place such a character can be, and JSON strings read "\\uXXXX" as that code point.
    _write_atomically(path, target, (text + "\n").encode("utf-8", "backslashreplace"))


def _link_target(path: Path) -> Path:
    """Where to write: a symlinked baseline (shared between checkouts) stays a symlink."""
    try:
        return path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError):  # a symlink loop: reading will report it
        return path


def _write_atomically(path: Path, target: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file beside ``target``, fsync it, rename it over.

    ``target``'s folder exists: ``save_baseline`` made it before taking the lock in it.
    """
    try:
        old_mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        old_mode = None
    try:
        import tempfile  # here, not at import: start-up pays only for what every run needs

        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise BaselineError(f"cannot save baseline file {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        # mkstemp makes the file 0600; keep the old file's mode, or the umask default.
        os.chmod(tmp_name, old_mode if old_mode is not None else 0o666 & ~_umask())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise BaselineError(f"cannot save baseline file {path}: {exc}") from exc
        raise
    _fsync_directory(target.parent)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the OS allows it (best effort)."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- profile


def machine_info(meters: Sequence[Meter] = ()) -> dict[str, object]:
    """A description of this machine, stored with a profile so a reviewer sees where
    its numbers came from. Cheap: reads /proc/cpuinfo at most once per process.

    With ``meters``, also their names and the GPU models they expose (``gpus``).
    """
    info: dict[str, object] = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "system": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    if meters:
        info["meters"] = [str(meter.name) for meter in meters]
        for meter in meters:  # a model's figures: baselines under another model differ
            version = getattr(meter, "model_version", None)
            watts = getattr(meter, "watts_per_cpu_second", None)
            if meter.name == "estimate" and isinstance(version, str):
                info["estimate_model"] = version
                if isinstance(watts, int | float):
                    info["watts_per_cpu"] = round(float(watts), 4)
        gpus = _meter_gpus(meters)
        if gpus:
            info["gpus"] = gpus
    return info


@functools.lru_cache(maxsize=1)
def cpuinfo_text() -> str:
    """The head of /proc/cpuinfo ('' where there is none), read once per process.

    The profile and the ``estimate`` meter both want the CPU's name from it; the first
    processor's block is within the first 64 KiB however many CPUs the machine has.
    """
    if not sys.platform.startswith("linux"):
        return ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            return cpuinfo.read(65536)
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    """The CPU's marketing name, or '' when the OS does not say."""
    model = cpu_model_from_cpuinfo(cpuinfo_text().splitlines())
    if model:
        return model
    try:
        return " ".join(platform.processor().split())
    except Exception:  # platform may shell out; never let that break a test run
        return ""


def cpu_model_from_cpuinfo(lines: Iterable[str]) -> str:
    """The first ``model name`` of /proc/cpuinfo ('' on e.g. many ARM kernels, which omit it)."""
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return ""


# Trademark signs, clock speeds, core counts and filler words carry no identity.
_CPU_NOISE = re.compile(
    r"\((?:r|tm|c)\)|[®™]"
    r"|@?\s*\d+(?:\.\d+)?\s*[gm]hz\b"
    r"|\b(?:\d+|dual|quad|six|eight|ten|twelve|sixteen)-core\b"
    r"|\b\d+(?:st|nd|rd|th)\s+gen\b"
    r"|\bw(?:ith|/)\s+radeon\b.*$"
    r"|\b(?:intel|genuine|authentic|cpu|processor|platinum|gold|silver|bronze)\b",
    re.IGNORECASE,
)
# Brand words and memory sizes: "NVIDIA H100 80GB HBM3" is an "h100".
_GPU_NOISE = re.compile(
    r"\((?:r|tm)\)|[®™]"
    r"|\b(?:nvidia|geforce|tesla|quadro|generation)\b"
    r"|\b\d+\s*gb\b|\bhbm\d*e?\b",
    re.IGNORECASE,
)


def _slug(text: str, limit: int = 30) -> str:
    """Lowercase, runs of other characters to '-'; '+' is reserved to join meter names."""
    slug = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return slug[:limit].rstrip("-.")


def cpu_slug(cpu_model: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8480+' -> 'xeon-8480'; '' when nothing is left."""
    return _slug(_CPU_NOISE.sub(" ", cpu_model))


def gpu_slug(gpu_model: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'h100'; 'NVIDIA A100-SXM4-80GB' -> 'a100-sxm4'."""
    return _slug(_GPU_NOISE.sub(" ", gpu_model), limit=20) or "gpu"


def default_profile(meters: Sequence[Meter], machine: Mapping[str, object] | None = None) -> str:
    """A readable, deterministic profile name: meters, CPU, logical CPUs, GPUs.

    Numbers are only comparable on the same hardware with the same meters, so the
    profile names both: e.g. ``estimate-amd-epyc-7763-4cpu`` or
    ``rapl+nvml-xeon-8480-224cpu-h100x8``. ``machine`` defaults to machine_info();
    GPUs come from the meters' optional ``gpus`` attribute (model names).
    """
    info = machine_info() if machine is None else machine
    parts = ["+".join(_meter_slug(meter) for meter in meters) or "none"]
    cpu = info.get("cpu")
    hardware = cpu_slug(cpu) if isinstance(cpu, str) else ""
    if not hardware:
        arch = info.get("machine")
        hardware = _slug(arch) if isinstance(arch, str) else ""
    parts.append(hardware or "cpu")
    cpus = info.get("logical_cpus")
    if isinstance(cpus, int) and not isinstance(cpus, bool) and cpus > 0:
        parts.append(f"{cpus}cpu")
    counts = collections.Counter(gpu_slug(gpu) for gpu in _meter_gpus(meters))
    parts.extend(f"{model}x{count}" for model, count in sorted(counts.items()))
    profile = "-".join(parts)
    if len(profile) > MAX_PROFILE_LENGTH:
        import hashlib  # OpenSSL's start-up costs ~3 ms; only long slugs need it

        digest = hashlib.sha256(profile.encode()).hexdigest()[:8]
        profile = profile[: MAX_PROFILE_LENGTH - 9].rstrip("-.+") + "-" + digest
    return profile


def _meter_slug(meter: Meter) -> str:
    """The meter's name, with its model version past the first (``estimate2``): numbers from
    another model of the same machine are not comparable."""
    slug = _slug(str(meter.name)) or "meter"
    version = getattr(meter, "model_version", None)
    if isinstance(version, str) and version not in ("", "1"):
        slug += _slug(version)
    return slug


def older_model_profile(names: Iterable[str], profile: str) -> str | None:
    """A profile in ``names`` for the same hardware and meters under another model version.

    ``estimate2-amd-epyc-7763-4cpu`` finds ``estimate-amd-epyc-7763-4cpu`` (model 1).
    """
    def unversioned(name: str) -> str:
        return re.sub(r"(^|\+)estimate\d*(?=[+-]|$)", r"\1estimate", name)

    names = list(names)
    if profile in names or "estimate" not in profile:
        return None
    target = unversioned(profile)
    for name in names:
        if name != profile and unversioned(name) == target:
            return name
    return None


def _meter_gpus(meters: Sequence[Meter]) -> list[str]:
    gpus: list[str] = []
    for meter in meters:
        names = getattr(meter, "gpus", None)
        if isinstance(names, list | tuple):
            gpus.extend(name for name in names if isinstance(name, str))
    return gpus
