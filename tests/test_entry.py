"""The entry record and its one JSON form (xdist reports, JSON report)."""

from __future__ import annotations

import json

import pytest

from pytest_greenbudget.entry import Entry, EntryError, entries_from_json
from pytest_greenbudget.quantity import Quantity


def full() -> Entry:
    return Entry(
        id="tests/t.py::test_x::fp32",
        kind="region",
        status="regressed",
        joules=2.5,
        seconds=0.25,
        co2_grams=3.3e-4,
        domains={"cpu": 2.5},
        budget=Quantity("carbon", 0.01),
        baseline_joules=2.0,
        tolerance=0.1,
        rounds=3,
        message="energy regression: ...",
        below_resolution=True,
        outcome="passed",
        location=("tests/t.py", 12),
        failed_for_energy=True,
        samples=[2.4, 2.5, 2.6],
    )


def test_round_trip_through_json_text() -> None:
    entry = full()
    again = Entry.from_json(json.loads(json.dumps(entry.to_json())))
    assert again == entry


def test_report_json_leaves_out_private_fields() -> None:
    data = full().report_json()
    assert "location" not in data and "samples" not in data
    assert data["budget"] == {"co2_grams": 0.01}
    assert data["rounds"] == 3


def test_public_report_entries_read_back() -> None:
    entry = Entry.from_json(full().report_json())
    assert entry.location == ("", None)
    assert entry.samples == []
    assert entry.budget == Quantity("carbon", 0.01)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"status": "ok"}, "entry id"),
        ({"id": "t", "status": "fine"}, "unknown status 'fine'"),
        ({"id": "t", "status": "ok", "kind": "suite"}, "kind"),
        ({"id": "t", "status": "ok", "joules": "5"}, "joules must be a number"),
        ({"id": "t", "status": "ok", "joules": float("nan")}, "joules must be finite"),
        ({"id": "t", "status": "ok", "budget": {"watts": 3}}, "budget must be"),
    ],
)
def test_bad_json_names_the_field(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(EntryError, match=fragment):
        Entry.from_json(data)


def test_entries_from_json_accepts_only_lists() -> None:
    assert entries_from_json(None) == []
    assert entries_from_json({"id": "x"}) == []
    assert [e.id for e in entries_from_json([full().to_json()])] == [full().id]
