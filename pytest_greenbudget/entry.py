"""The typed record of one measured entry (a test or a fixture region), and its JSON form.

An entry crosses processes (an xdist worker's teardown report carries it to the
controller) and feeds every report, so it has one shape and one place that turns it
into JSON and back: ``to_json`` / ``from_json``. The public JSON report is built from
``report_json``, which leaves out what only the plugin itself uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pytest_greenbudget.quantity import WORK_UNIT, Quantity
from pytest_greenbudget.work import Work, work_from_json

Status = Literal[
    "ok", "over_budget", "regressed", "inconclusive", "improved", "new", "unmeasured"
]
STATUSES: tuple[Status, ...] = (
    "over_budget",
    "regressed",
    "inconclusive",
    "improved",
    "ok",
    "new",
    "unmeasured",
)
Kind = Literal["test", "region"]
#: Statuses that fail a test (with on_exceed = "fail") or warn.
FINDINGS: tuple[Status, ...] = ("over_budget", "regressed")


class EntryError(ValueError):
    """A JSON entry that does not have the shape of one (a foreign or broken report)."""


@dataclass
class Entry:
    """One row of every report: what was measured, against what, and the verdict."""

    id: str
    kind: Kind
    status: Status
    joules: float | None = None
    seconds: float | None = None
    co2_grams: float | None = None
    domains: dict[str, float] = field(default_factory=dict)
    budget: Quantity | None = None
    baseline_joules: float | None = None
    tolerance: float = 0.0
    rounds: int = 1
    message: str | None = None
    below_resolution: bool = False
    #: pytest's outcome, filled in on the controller from the test's reports.
    outcome: str | None = None
    #: (path relative to rootdir, 0-based line) for annotations.
    location: tuple[str, int | None] = ("", None)
    #: True when this entry's finding made the test fail.
    failed_for_energy: bool = False
    #: Joules of each measured round, for the baseline's ``samples``.
    samples: list[float] = field(default_factory=list)
    #: Modules first imported during the measured call rounds: their one-off cost is in.
    imported: int = 0
    #: Work of one round (median count over rounds) and the per-unit figures (SPEC 14).
    work: Work | None = None
    joules_per_unit: float | None = None
    co2_grams_per_unit: float | None = None
    #: The baseline's joules per unit, when the comparison was per unit of work.
    baseline_joules_per_unit: float | None = None

    @property
    def measured(self) -> bool:
        return self.joules is not None

    @property
    def is_finding(self) -> bool:
        return self.status in FINDINGS

    def to_json(self) -> dict[str, Any]:
        """Everything, as plain JSON values (for xdist's report serialisation)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "joules": self.joules,
            "seconds": self.seconds,
            "co2_grams": self.co2_grams,
            "domains": dict(self.domains),
            "budget": self.budget.as_dict() if self.budget is not None else None,
            "baseline_joules": self.baseline_joules,
            "tolerance": self.tolerance,
            "rounds": self.rounds,
            "message": self.message,
            "below_resolution": self.below_resolution,
            "outcome": self.outcome,
            "location": [self.location[0], self.location[1]],
            "failed_for_energy": self.failed_for_energy,
            "samples": list(self.samples),
            "imported": self.imported,
            "work": self.work.as_dict() if self.work is not None else None,
            "joules_per_unit": self.joules_per_unit,
            "co2_grams_per_unit": self.co2_grams_per_unit,
            "baseline_joules_per_unit": self.baseline_joules_per_unit,
        }

    def report_json(self) -> dict[str, Any]:
        """The entry as the public JSON report shows it (SPEC section 9)."""
        data = self.to_json()
        for private in ("location", "failed_for_energy", "samples", "tolerance", "imported"):
            del data[private]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        """The inverse of ``to_json``; also reads the public report's entries.

        Raises EntryError naming the field for anything that is not an entry's shape.
        """
        if not isinstance(data, Mapping):
            raise EntryError(f"an entry must be an object, got {type(data).__name__}")
        entry_id = data.get("id")
        if not isinstance(entry_id, str):
            raise EntryError(f"entry id must be a string, got {entry_id!r}")
        kind = data.get("kind", "test")
        if kind not in ("test", "region"):
            raise EntryError(f"{entry_id}: kind must be 'test' or 'region', got {kind!r}")
        status = data.get("status")
        if status not in STATUSES:
            raise EntryError(f"{entry_id}: unknown status {status!r}")
        location = data.get("location") or ("", None)
        try:
            work = work_from_json(data.get("work"))
        except ValueError as exc:
            raise EntryError(f"{entry_id}: {exc}") from None
        return cls(
            id=entry_id,
            kind=cast(Kind, kind),
            status=cast(Status, status),
            joules=_number(data, "joules"),
            seconds=_number(data, "seconds"),
            co2_grams=_number(data, "co2_grams"),
            domains={str(k): float(v) for k, v in (data.get("domains") or {}).items()},
            budget=_budget(entry_id, data.get("budget")),
            baseline_joules=_number(data, "baseline_joules"),
            tolerance=_number(data, "tolerance") or 0.0,
            rounds=int(data.get("rounds") or 1),
            message=None if data.get("message") is None else str(data["message"]),
            below_resolution=bool(data.get("below_resolution", False)),
            outcome=None if data.get("outcome") is None else str(data["outcome"]),
            location=(str(location[0]), None if location[1] is None else int(location[1])),
            failed_for_energy=bool(data.get("failed_for_energy", False)),
            samples=[float(x) for x in data.get("samples") or ()],
            imported=int(data.get("imported") or 0),
            work=work,
            joules_per_unit=_number(data, "joules_per_unit"),
            co2_grams_per_unit=_number(data, "co2_grams_per_unit"),
            baseline_joules_per_unit=_number(data, "baseline_joules_per_unit"),
        )


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EntryError(f"{data.get('id')}: {key} must be a number or null, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise EntryError(f"{data.get('id')}: {key} must be finite, got {value!r}")
    return number


def _budget(entry_id: str, value: object) -> Quantity | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        per = value.get("per")
        if per is not None and (not isinstance(per, str) or WORK_UNIT.fullmatch(per) is None):
            raise EntryError(f"{entry_id}: budget per must be a work unit name, got {per!r}")
        if "joules" in value:
            return Quantity("energy", float(value["joules"]), per)
        if "co2_grams" in value:
            return Quantity("carbon", float(value["co2_grams"]), per)
    raise EntryError(
        f"{entry_id}: budget must be {{'joules': x}}, {{'co2_grams': x}} (each with an "
        "optional 'per': work unit) or null"
    )


def printable_id(text: str) -> str:
    """``text`` with any lone surrogate written as its escape (``a\\udcffb``).

    A region name or a file name's undecodable byte can hold one; no file, terminal or
    pipe can carry it as UTF-8, so the entry's id is the escaped form everywhere: the
    summary, every report and the baseline key. Other text is returned unchanged.
    """
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def entries_to_wire(entries: Sequence[Entry]) -> str:
    """The entries as one ASCII JSON text, for a test report's trip from an xdist worker.

    ASCII because execnet encodes text as strict UTF-8: an id holding a lone surrogate (a
    region name, a file name's undecodable byte) would crash the worker. JSON escapes it
    (``\\udcff``) and reading restores the same string.
    """
    return json.dumps([entry.to_json() for entry in entries], ensure_ascii=True)


def entries_from_json(items: object) -> list[Entry]:
    """Entries carried on a report (``entries_to_wire`` text, or a list of ``to_json``
    objects); anything else is none."""
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            return []
    if not isinstance(items, list | tuple):
        return []
    return [Entry.from_json(item) for item in items]
