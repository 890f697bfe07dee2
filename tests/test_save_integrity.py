"""Issue 10, data loss: concurrent saves, ids that are not UTF-8, unknown keys of an entry.

The concurrency test runs real processes that all save at one moment (a barrier), and
checks that every entry of every run is in the file: a save without the lock loses all
but one run's entries in most trials.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
from pathlib import Path

import pytest

from pytest_greenbudget import savelock
from pytest_greenbudget.baseline import SCHEMA, load_baseline, save_baseline

MACHINE: dict[str, object] = {"cpu": "test"}
RUNS = 6
ENTRIES = 400  # per run: enough JSON for the read-modify-write windows to overlap
#: fork where there is one: spawn re-imports pytest in every child (seconds each).
_START = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _save_after_barrier(path: str, run: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    results = {f"run{run}::t{i}": {"joules": float(run), "seconds": 0.5} for i in range(ENTRIES)}
    barrier.wait()
    save_baseline(Path(path), "p", MACHINE, results)


def test_concurrent_saves_keep_every_entry_of_every_run(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, "other", MACHINE, {"keep::me": {"joules": 9.0}})
    context = multiprocessing.get_context(_START)
    for trial in range(3):
        barrier = context.Barrier(RUNS)
        processes = [
            context.Process(target=_save_after_barrier, args=(str(path), run + 10 * trial, barrier))
            for run in range(RUNS)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
            assert process.exitcode == 0
    loaded = load_baseline(path)
    entries = loaded.entries("p")
    expected = {
        f"run{run + 10 * t}::t{i}" for t in range(3) for run in range(RUNS) for i in range(ENTRIES)
    }
    assert set(entries) == expected, f"{len(expected - set(entries))} entries lost"
    assert loaded.joules("other", "keep::me") == 9.0
    # The lock leaves nothing in the project: only the baseline is beside itself.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def _try_lock(folder: str, answers: multiprocessing.queues.SimpleQueue[str]) -> None:
    try:
        with savelock.save_lock(Path(folder), timeout_s=0.3):
            answers.put("acquired")
    except savelock.LockTimeout as exc:
        answers.put(f"timeout: {exc}")


def test_another_process_waits_for_the_lock_and_gives_up_after_the_bound(tmp_path: Path) -> None:
    context = multiprocessing.get_context(_START)
    answers = context.SimpleQueue()
    with savelock.save_lock(tmp_path):
        process = context.Process(target=_try_lock, args=(str(tmp_path), answers))
        process.start()
        process.join(60)
    assert answers.get().startswith("timeout: another run held the save lock")
    process = context.Process(target=_try_lock, args=(str(tmp_path), answers))
    process.start()
    process.join(60)
    assert answers.get() == "acquired"  # released with the section


def test_temp_file_lock_is_used_where_a_folder_cannot_be_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(savelock, "_lock_folder", lambda folder, timeout_s: None)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    project = tmp_path / "project"
    project.mkdir()
    with savelock.save_lock(project):
        assert savelock.lock_file_for(project).parent == tmp_path / "tmp"
        assert savelock.lock_file_for(project).exists()
    save_baseline(project / "baseline.json", "p", MACHINE, {"t::a": {"joules": 1.0}})
    assert sorted(p.name for p in project.iterdir()) == ["baseline.json"]


# ------------------------------------------------------------------ unknown keys (item 21)


def test_resave_keeps_unknown_keys_of_an_entry_and_replaces_its_numbers(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    doc = {
        "schema": SCHEMA,
        "profiles": {
            "p": {
                "machine": {},
                "entries": {
                    "t::a": {
                        "joules": 5.0,
                        "seconds": 1.0,
                        "samples": [5.0, 5.0],
                        "note": "reviewed by ana",
                        "ticket": 42,
                    }
                },
            }
        },
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    save_baseline(path, "p", MACHINE, {"t::a": {"joules": 6.0, "seconds": 2.0}})
    entry = json.loads(path.read_text(encoding="utf-8"))["profiles"]["p"]["entries"]["t::a"]
    # the note survives; the old samples (of the old joules) do not outlive their numbers
    assert entry == {"joules": 6.0, "seconds": 2.0, "note": "reviewed by ana", "ticket": 42}
    save_baseline(path, "p", MACHINE, {"t::a": {"joules": 7.0, "samples": [7.0], "note": "new"}})
    entry = json.loads(path.read_text(encoding="utf-8"))["profiles"]["p"]["entries"]["t::a"]
    assert entry == {"joules": 7.0, "samples": [7.0], "note": "new", "ticket": 42}


# ------------------------------------------------------------------ lone surrogates (item 2)


@pytest.mark.parametrize("entry_id", ["t::a\udcffb", "t::\ud800", "t::é\\\udcff日本"])
def test_id_with_a_lone_surrogate_is_saved_as_valid_utf8_and_reads_back(
    tmp_path: Path, entry_id: str
) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, "p", MACHINE, {entry_id: {"joules": 1.0}, "t::é": {"joules": 2.0}})
    path.read_bytes().decode("utf-8")  # strict UTF-8
    loaded = load_baseline(path)
    assert loaded.joules("p", entry_id) == 1.0
    assert loaded.joules("p", "t::é") == 2.0
    assert "t::é" in path.read_text(encoding="utf-8")  # normal Unicode stays readable
