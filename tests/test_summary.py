"""SPEC 15: which summary rows are shown, and a terminal table that fits without wrapping."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_greenbudget.entry import STATUSES, Entry
from pytest_greenbudget.report import (
    COLUMNS,
    MARKDOWN_LIMIT,
    MeterInfo,
    RunInfo,
    markdown,
    terminal_lines,
)
from pytest_greenbudget.summary import (
    AUTO_ALL_LIMIT,
    count_line,
    fit_table,
    fit_text,
    select,
    shorten_id,
)

INFO = RunInfo(
    meters=[MeterInfo("estimate", True, ["cpu"], "CPU time x 280 W TDP / 2 logical CPUs")],
    profile="estimate-amd-epyc-7763-64-core-processor-2cpu",
    intensity=475.0,
    intensity_source="world average",
)
LONG_ID = (
    "tests/integration/models/transformers/test_attention_kernels.py::"
    "test_flash_attention_matches_reference[bf16-seq4096-heads32-causal]"
)


def entry(i: int = 0, status: str = "ok", **kw: Any) -> Entry:
    data: dict[str, Any] = {
        "id": f"tests/suite/test_module_{i}.py::test_case_{i}[param-{i}]",
        "status": status,
        "joules": 12.3 + i,
        "seconds": 0.5,
        "co2_grams": 0.0016,
        "budget": {"joules": 50.0},
        "baseline_joules": 11.9,
        "rounds": 5,
        "message": None if status == "ok" else f"{status}: something about test {i}",
    }
    data.update(kw)
    return Entry.from_json(data)


# -- rows ------------------------------------------------------------------------------------


def test_changes_shows_only_rows_that_are_not_ok_or_new() -> None:
    entries = [entry(i, s) for i, s in enumerate(STATUSES)]
    shown = select(entries, "changes").shown
    assert [e.status for e in shown] == [s for s in STATUSES if s not in ("ok", "new")]


def test_none_shows_no_row_and_all_every_row() -> None:
    entries = [entry(i, s) for i, s in enumerate(STATUSES)]
    assert select(entries, "none").shown == []
    assert select(entries, "all").shown == entries


def test_default_is_all_up_to_the_limit_and_changes_beyond() -> None:
    small = [entry(i) for i in range(AUTO_ALL_LIMIT - 1)] + [entry(99, "regressed")]
    assert select(small, None).mode == "all"
    assert len(select(small, None).shown) == AUTO_ALL_LIMIT
    big = [*small, entry(100)]
    chosen = select(big, None)
    assert chosen.mode == "changes" and not chosen.chosen
    assert [e.status for e in chosen.shown] == ["regressed"]
    line = count_line(chosen)
    assert "--greenbudget-summary=all" in line
    assert f"{AUTO_ALL_LIMIT} rows not shown" in line


def test_count_line_counts_each_status_in_spec_order() -> None:
    entries = [entry(1, "ok"), entry(2, "regressed"), entry(3, "ok"), entry(4, "new")]
    line = count_line(select(entries, "none"))
    assert line.startswith("energy: 4 entries: 1 regressed, 2 ok, 1 new")
    assert "4 rows not shown" in line
    assert "not shown" not in count_line(select(entries, "all"))


def test_terminal_none_prints_only_the_count_line() -> None:
    entries = [entry(1, "over_budget"), entry(2)]
    assert terminal_lines(entries, INFO, summary="none") == [
        "energy: 2 entries: 1 over_budget, 1 ok; 2 rows not shown "
        "(summary = 'none'; --greenbudget-summary=all lists every row)"
    ]


def test_terminal_changes_has_the_changed_rows_messages_and_count_line() -> None:
    entries = [entry(1, "over_budget"), entry(2), entry(3, "new")]
    lines = terminal_lines(entries, INFO, summary="changes")
    text = "\n".join(lines)
    assert lines[0].split()[0] == "test"
    assert entries[0].id in text and entries[1].id not in text and entries[2].id not in text
    assert "over_budget: something about test 1" in text
    assert lines[-1].startswith("energy: 3 entries: 1 over_budget, 1 ok, 1 new")


# -- fitting ---------------------------------------------------------------------------------


def test_shorten_id_keeps_the_end_and_cuts_at_a_folder() -> None:
    short = shorten_id("tests/deep/folder/test_x.py::test_y[param]", 30)
    assert short == "…/test_x.py::test_y[param]"
    assert len(short) <= 30
    assert shorten_id("test_x.py::test_y", 40) == "test_x.py::test_y"
    cut = shorten_id("a" * 50, 10, "...")
    assert cut == "..." + "a" * 7


@pytest.mark.parametrize("width", [80, 100, 120])
def test_terminal_lines_fit_the_width(width: int) -> None:
    entries = [entry(i, s) for i, s in enumerate(STATUSES)] + [entry(9, id=LONG_ID)]
    lines = terminal_lines(entries, INFO, width=width)
    assert lines and all(len(line) <= width for line in lines), "\n".join(lines)
    # the end of the long id is kept, its start is cut
    assert any(line.startswith("…") and "causal]" in line for line in lines)


def test_optional_columns_go_before_ids_are_cut_short() -> None:
    entries = [entry(i) for i in range(3)]
    full = fit_table(COLUMNS, [_cells(e) for e in entries], None)
    assert full[0].split() == list(COLUMNS)
    natural = len(full[1])
    # a little too narrow: the ids give way first, down to a readable width
    lines = fit_table(COLUMNS, [_cells(e) for e in entries], natural - 5)
    assert lines[0].split() == list(COLUMNS)
    # narrower: CO2e goes, then baseline, before the ids are cut below 32 columns
    lines = fit_table(COLUMNS, [_cells(e) for e in entries], 80)
    header = lines[0].split()
    assert "CO2e" not in header and "status" in header and "energy" in header
    assert all(len(line) <= 80 for line in lines)


def test_a_table_that_fits_is_unchanged() -> None:
    rows = [("a::b", "1 J", "-", "-", "-", "ok")]
    assert fit_table(COLUMNS, rows, 200) == fit_table(COLUMNS, rows, None)


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(min_value=20, max_value=200),
    ids=st.lists(st.text(min_size=1, max_size=150), min_size=1, max_size=5),
)
def test_no_line_is_ever_longer_than_the_width(width: int, ids: list[str]) -> None:
    rows = [(i.replace("\n", " "), "12.3 J (median of 5)", "50 J (25 %)", "-", "-", "ok")
            for i in ids]
    assert all(len(line) <= width for line in fit_table(COLUMNS, rows, width))


def test_fit_text_wraps_prose_onto_indented_lines() -> None:
    text = "meters: " + "word " * 40
    lines = fit_text(text, 50)
    assert len(lines) > 1 and all(len(line) <= 50 for line in lines)
    assert lines[1].startswith("    ")
    assert fit_text("short", 50) == ["short"]


def _cells(e: Entry) -> tuple[str, ...]:
    from pytest_greenbudget.report import rows

    return rows([e])[0]


# -- markdown --------------------------------------------------------------------------------


def test_markdown_honours_summary() -> None:
    entries = [entry(1, "regressed"), entry(2)]
    md = markdown(entries, INFO, summary="changes")
    assert entries[0].id in md and entries[1].id not in md
    assert "energy: 2 entries: 1 regressed, 1 ok" in md
    none = markdown(entries, INFO, summary="none")
    assert "| test |" not in none and "1 regressed" in none


def test_markdown_stays_under_the_limit_and_says_what_it_left_out() -> None:
    entries = [entry(i, id=f"tests/t_{i}.py::" + "x" * 200) for i in range(8000)]
    md = markdown(entries, INFO, summary="all")
    size = len(md.encode("utf-8"))
    assert MARKDOWN_LIMIT < 1024 * 1024
    assert size <= MARKDOWN_LIMIT
    assert size > MARKDOWN_LIMIT - 10_000  # it used the room, it did not just give up
    shown = md.count("| tests/t_")
    assert 0 < shown < 8000
    assert f"{8000 - shown} of 8000 rows left out" in md


def test_markdown_small_limit_is_honoured_exactly() -> None:
    entries = [entry(i) for i in range(50)]
    md = markdown(entries, INFO, limit=3000)
    assert len(md.encode()) <= 3000
    assert "rows left out" in md


def test_the_status_is_never_clipped() -> None:
    """At 80 columns a wide energy cell is cut, not the status: the status is the news."""
    cells = ("tests/test_models.py::test_mlp_energy_per_sample[large]",
             "46.4 mJ (1.72 uJ/sample) (median of 3) (below meter resolution)",
             "300 uJ/sample (0.8 %)", "40 mJ (+16 %)", "5.1 ugCO2e", "over_budget")
    for width in (40, 60, 80):
        lines = fit_table(COLUMNS, [cells], width)
        assert all(len(line) <= width for line in lines)
        assert lines[1].endswith("over_budget")
        assert lines[0].endswith("status")
