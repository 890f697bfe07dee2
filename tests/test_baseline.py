"""Unit tests for the baseline file: validation, atomic save, profile slugs."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from pytest_greenbudget import baseline as bl
from pytest_greenbudget.baseline import (
    SCHEMA,
    Baseline,
    BaselineError,
    default_profile,
    load_baseline,
    machine_info,
    save_baseline,
)

MACHINE: dict[str, object] = {"cpu": "AMD EPYC 7763 64-Core Processor", "logical_cpus": 2}


class FakeMeter:
    """A meter as far as the profile cares: a name, and optionally GPU models."""

    estimated = True

    def __init__(self, name: str, gpus: object = None) -> None:
        self.name = name
        if gpus is not None:
            self.gpus = gpus

    def read(self) -> Mapping[str, float]:
        return {}


def write_doc(path: Path, doc: object) -> bytes:
    blob = json.dumps(doc).encode()
    path.write_bytes(blob)
    return blob


def valid_doc() -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "profiles": {
            "p": {"machine": {"cpu": "x"}, "entries": {"t::a": {"joules": 1.5, "seconds": 0.1}}}
        },
    }


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- loading


def test_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    path = tmp_path / ".greenbudget" / "baseline.json"
    loaded = load_baseline(path)
    assert loaded.path == path
    assert not loaded.exists
    assert loaded.count("any") == 0
    assert loaded.joules("any", "t::a") is None
    assert dict(loaded.entries("any")) == {}
    assert not path.parent.exists()  # loading never creates anything


def test_load_reads_entries_and_makes_joules_float(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    doc = valid_doc()
    doc["profiles"]["p"]["entries"]["t::b"] = {"joules": 3, "note": "kept"}  # type: ignore[index]
    write_doc(path, doc)
    loaded = load_baseline(path)
    assert loaded.exists
    assert loaded.count("p") == 2
    assert loaded.count("other") == 0
    assert loaded.joules("p", "t::a") == 1.5
    value = loaded.joules("p", "t::b")
    assert value == 3.0 and isinstance(value, float)
    assert loaded.joules("p", "t::missing") is None
    assert loaded.joules("other", "t::a") is None
    assert loaded.entries("p")["t::b"]["note"] == "kept"
    assert loaded.profiles["p"].machine == {"cpu": "x"}


def test_loaded_baseline_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_doc(path, valid_doc())
    loaded = load_baseline(path)
    with pytest.raises(TypeError):
        loaded.entries("p")["t::new"] = {"joules": 1.0}  # type: ignore[index]
    with pytest.raises(TypeError):
        loaded.entries("p")["t::a"]["joules"] = 0.0  # type: ignore[index]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(valid_doc()).encode())
    assert load_baseline(path).joules("p", "t::a") == 1.5


def _doc_with_entry(entry: str) -> bytes:
    return (
        b'{"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, '
        b'"entries": {"t::a": ' + entry.encode() + b"}}}}"
    )


CORRUPT: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "is not valid JSON"),
    "not json": (b"{", "is not valid JSON"),
    "merge conflict": (b'<<<<<<< HEAD\n{"schema": 1}\n', "is not valid JSON"),
    "not utf-8": (b'{"schema": "\xff"}', "is not UTF-8"),
    "list at top": (b"[]", "the top level must be a JSON object, got []"),
    "no schema": (b'{"profiles": {}}', "'schema'"),
    "wrong schema": (
        b'{"schema": "x", "profiles": {}}',
        "has schema 'x', expected 'greenbudget-baseline/1'",
    ),
    "missing profiles": (b'{"schema": "greenbudget-baseline/1"}', "profiles must be an object"),
    "profiles list": (
        b'{"schema": "greenbudget-baseline/1", "profiles": []}',
        "profiles must be an object, got []",
    ),
    "profile not object": (
        b'{"schema": "greenbudget-baseline/1", "profiles": {"p": 1}}',
        "profiles.p must be an object, got 1",
    ),
    "no machine": (
        b'{"schema": "greenbudget-baseline/1", "profiles": {"p": {"entries": {}}}}',
        "profiles.p.machine must be an object",
    ),
    "entries not object": (
        b'{"schema": "greenbudget-baseline/1", "profiles": {"p": {"machine": {}, "entries": []}}}',
        "profiles.p.entries must be an object, got []",
    ),
    "entry not object": (_doc_with_entry("12"), "profiles.p.entries.t::a must be an object"),
    "no joules": (_doc_with_entry('{"seconds": 1}'), "an object with 'joules'"),
    "joules negative": (
        _doc_with_entry('{"joules": -1}'),
        "profiles.p.entries.t::a.joules must be a non-negative number, got -1",
    ),
    "joules string": (
        _doc_with_entry('{"joules": "abc"}'),
        "profiles.p.entries.t::a.joules must be a non-negative number, got 'abc'",
    ),
    "joules nan": (_doc_with_entry('{"joules": NaN}'), "joules must be a non-negative number"),
    "joules infinity": (
        _doc_with_entry('{"joules": Infinity}'),
        "joules must be a non-negative number",
    ),
    "joules huge int": (
        _doc_with_entry('{"joules": 1' + "0" * 400 + "}"),
        "joules must be a non-negative number",
    ),
    "joules bool": (_doc_with_entry('{"joules": true}'), "got True"),
    "joules null": (_doc_with_entry('{"joules": null}'), "got None"),
    "seconds negative": (
        _doc_with_entry('{"joules": 1, "seconds": -0.5}'),
        "t::a.seconds must be a non-negative number or null, got -0.5",
    ),
    "duplicate key": (
        b'{"schema": "greenbudget-baseline/1", "profiles": {}, "profiles": {}}',
        "duplicate key 'profiles'",
    ),
}


@pytest.mark.parametrize("blob, expected", CORRUPT.values(), ids=list(CORRUPT))
def test_corrupt_file_is_an_error_and_is_never_touched(
    tmp_path: Path, blob: bytes, expected: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(blob)
    with pytest.raises(BaselineError) as load_error:
        load_baseline(path)
    assert str(path) in str(load_error.value)
    assert expected in str(load_error.value)
    assert path.read_bytes() == blob

    with pytest.raises(BaselineError) as save_error:
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0, "seconds": 0.1}})
    assert str(path) in str(save_error.value)
    assert path.read_bytes() == blob
    assert listing(tmp_path) == ["baseline.json"]


def test_directory_at_the_path_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.mkdir()
    with pytest.raises(BaselineError, match="cannot be read") as error:
        load_baseline(path)
    assert str(path) in str(error.value)
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        save_baseline(path, "p", MACHINE, {"t::a": {"joules": 1.0}})
    assert path.is_dir() and listing(path) == []
    assert listing(tmp_path) == ["baseline.json"]


# --------------------------------------------------------------------------- saving


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "baseline.json"  # parents are created
    results = {"t::a": {"joules": 12.5, "seconds": 0.5}, "t::a::region": {"joules": 2.0}}
    save_baseline(path, "prof", MACHINE, results)
    loaded = load_baseline(path)
    assert isinstance(loaded, Baseline)
    assert loaded.count("prof") == 2
    assert loaded.joules("prof", "t::a") == 12.5
    assert loaded.joules("prof", "t::a::region") == 2.0
    assert dict(loaded.entries("prof")["t::a"]) == {"joules": 12.5, "seconds": 0.5}
    assert dict(loaded.profiles["prof"].machine) == MACHINE
    assert listing(path.parent) == ["baseline.json"]


def test_saved_text_is_sorted_indented_and_ends_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(
        path, "p", {"logical_cpus": 2, "cpu": "c"}, {"t::b": {"seconds": 0.5, "joules": 2}}
    )
    save_baseline(path, "p", {"logical_cpus": 2, "cpu": "c"}, {"t::a": {"joules": 1.25}})
    assert path.read_text(encoding="utf-8") == (
        "{\n"
        '  "profiles": {\n'
        '    "p": {\n'
        '      "entries": {\n'
        '        "t::a": {\n'
        '          "joules": 1.25\n'
        "        },\n"
        '        "t::b": {\n'
        '          "joules": 2,\n'
        '          "seconds": 0.5\n'
        "        }\n"
        "      },\n"
        '      "machine": {\n'
        '        "cpu": "c",\n'
        '        "logical_cpus": 2\n'
        "      }\n"
        "    }\n"
        "  },\n"
        '  "schema": "greenbudget-baseline/1"\n'
        "}\n"
    )


def test_save_keeps_other_entries_profiles_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    doc = {
        "schema": SCHEMA,
        "comment": "kept",
        "profiles": {
            "mine": {
                "machine": {"cpu": "old"},
                "entries": {
                    "t::keep": {"joules": 1.0},
                    "t::update": {"joules": 5.0, "seconds": 1.0},
                },
            },
            "theirs": {"machine": {"cpu": "x"}, "entries": {"t::update": {"joules": 9.0}}},
        },
    }
    write_doc(path, doc)
    save_baseline(
        path, "mine", {"cpu": "new"}, {"t::update": {"joules": 6.0}, "t::add": {"joules": 7.0}}
    )
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["comment"] == "kept"
    assert saved["profiles"]["theirs"] == doc["profiles"]["theirs"]  # type: ignore[index]
    assert saved["profiles"]["mine"] == {
        "machine": {"cpu": "new"},
        "entries": {
            "t::keep": {"joules": 1.0},
            "t::update": {"joules": 6.0},
            "t::add": {"joules": 7.0},
        },
    }


def test_save_rereads_the_file_so_concurrent_edits_survive(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, "a", MACHINE, {"t::1": {"joules": 1.0}})
    stale = load_baseline(path)
    save_baseline(path, "b", MACHINE, {"t::2": {"joules": 2.0}})  # someone else, meanwhile
    save_baseline(stale.path, "a", MACHINE, {"t::3": {"joules": 3.0}})
    loaded = load_baseline(path)
    assert loaded.joules("b", "t::2") == 2.0
    assert loaded.joules("a", "t::1") == 1.0
    assert loaded.joules("a", "t::3") == 3.0


def test_null_seconds_means_not_timed(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, "p", MACHINE, {"t::a": {"joules": 1.0, "seconds": None}})
    assert load_baseline(path).entries("p")["t::a"] == {"joules": 1.0, "seconds": None}


def test_unicode_ids_are_written_readably(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(path, "p", MACHINE, {"t::test[é-日本]": {"joules": 1.0}})
    assert "t::test[é-日本]" in path.read_text(encoding="utf-8")
    assert load_baseline(path).joules("p", "t::test[é-日本]") == 1.0


@pytest.mark.parametrize(
    "entry",
    [
        {"joules": -1.0},
        {"joules": float("nan")},
        {"joules": None},
        {"seconds": 1.0},
        {"joules": 1.0, "seconds": -1},
        {"joules": 1.0, "seconds": "1 s"},
    ],
)
def test_invalid_results_are_refused_before_anything_is_written(
    tmp_path: Path, entry: dict[str, object]
) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc())
    with pytest.raises(BaselineError, match="t::bad") as error:
        save_baseline(path, "p", MACHINE, {"t::good": {"joules": 1.0}, "t::bad": entry})
    assert str(path) in str(error.value)
    assert path.read_bytes() == blob
    assert listing(tmp_path) == ["baseline.json"]


@pytest.mark.parametrize("profile", ["", None])
def test_empty_profile_name_is_refused(tmp_path: Path, profile: str) -> None:
    with pytest.raises(ValueError, match="profile"):
        save_baseline(tmp_path / "b.json", profile, MACHINE, {})
    assert listing(tmp_path) == []


def test_unserializable_result_is_a_baseline_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc())
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        save_baseline(path, "p", MACHINE, {"t::x": {"joules": 1.0, "extra": object()}})
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        save_baseline(path, "p", {"x": float("inf")}, {"t::x": {"joules": 1.0}})
    assert path.read_bytes() == blob
    assert listing(tmp_path) == ["baseline.json"]


def _raise(exc: BaseException) -> object:
    def fail(*args: object, **kwargs: object) -> object:
        raise exc

    return fail


@pytest.mark.parametrize("existed", [True, False], ids=["old-file", "no-file"])
def test_disk_full_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc()) if existed else None
    monkeypatch.setattr(os, "fsync", _raise(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(BaselineError) as error:
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert str(path) in str(error.value)
    assert "No space left on device" in str(error.value)
    assert isinstance(error.value.__cause__, OSError)
    if blob is None:
        assert listing(tmp_path) == []
    else:
        assert path.read_bytes() == blob
        assert listing(tmp_path) == ["baseline.json"]


def test_failed_rename_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc())
    monkeypatch.setattr(os, "replace", _raise(PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(BaselineError, match="Permission denied") as error:
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert str(path) in str(error.value)
    assert path.read_bytes() == blob
    assert listing(tmp_path) == ["baseline.json"]


def test_temporary_file_that_cannot_be_created_is_a_baseline_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc())
    monkeypatch.setattr(
        tempfile, "mkstemp", _raise(PermissionError(errno.EACCES, "Permission denied"))
    )
    with pytest.raises(BaselineError, match="Permission denied"):
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert path.read_bytes() == blob


def test_parent_that_is_a_regular_file_is_a_baseline_error(tmp_path: Path) -> None:
    blocker = tmp_path / ".greenbudget"
    blocker.write_bytes(b"not a folder")
    path = blocker / "baseline.json"
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        load_baseline(path)
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert blocker.read_bytes() == b"not a folder"
    assert listing(tmp_path) == [".greenbudget"]


def test_missing_parent_that_cannot_be_created_is_a_baseline_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    path = blocker / "sub" / "baseline.json"  # mkdir of file/sub fails
    with pytest.raises(BaselineError, match=re.escape(str(path))):
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert listing(tmp_path) == ["file"]


@pytest.mark.parametrize("where", ["fsync", "replace", "dumps"])
def test_keyboard_interrupt_during_save_propagates_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    path = tmp_path / "baseline.json"
    blob = write_doc(path, valid_doc())
    target = {"fsync": (os, "fsync"), "replace": (os, "replace"), "dumps": (json, "dumps")}
    module, name = target[where]
    monkeypatch.setattr(module, name, _raise(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert path.read_bytes() == blob
    assert listing(tmp_path) == ["baseline.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="directories cannot be fsynced")
def test_save_fsyncs_the_data_and_then_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[bool] = []  # is the synced descriptor a directory?
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    save_baseline(tmp_path / "baseline.json", "p", MACHINE, {"t::a": {"joules": 1.0}})
    assert synced == [False, True]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_save_keeps_the_mode_of_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_doc(path, valid_doc())
    path.chmod(0o640)
    save_baseline(path, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_new_file_gets_the_umask_default_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        save_baseline(tmp_path / "baseline.json", "p", MACHINE, {"t::a": {"joules": 1.0}})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "baseline.json").stat().st_mode) == 0o644


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_save_through_a_symlink_updates_the_target(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "baseline.json"
    real.parent.mkdir()
    write_doc(real, valid_doc())
    link = tmp_path / "baseline.json"
    link.symlink_to(real)
    save_baseline(link, "p", MACHINE, {"t::new": {"joules": 1.0}})
    assert link.is_symlink()
    assert load_baseline(real).joules("p", "t::new") == 1.0
    assert listing(real.parent) == ["baseline.json"]


# --------------------------------------------------------------------------- machine, profile


def test_machine_info_is_a_plain_json_description() -> None:
    info = machine_info()
    assert set(info) == {"cpu", "logical_cpus", "system", "machine", "python"}
    assert isinstance(info["cpu"], str)
    assert info["logical_cpus"] == os.cpu_count()
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    json.dumps(info)


def test_machine_info_with_meters_names_them_and_their_gpus() -> None:
    info = machine_info([FakeMeter("rapl"), FakeMeter("nvml", gpus=["NVIDIA H200"])])
    assert info["meters"] == ["rapl", "nvml"]
    assert info["gpus"] == ["NVIDIA H200"]
    assert "gpus" not in machine_info([FakeMeter("estimate")])


def test_cpu_model_from_cpuinfo() -> None:
    x86 = [
        "processor\t: 0\n",
        "vendor_id\t: AuthenticAMD\n",
        "model\t\t: 1\n",
        "model name\t: AMD EPYC 7763 64-Core  Processor\n",
        "processor\t: 1\n",
        "model name\t: something else\n",
    ]
    assert bl.cpu_model_from_cpuinfo(x86) == "AMD EPYC 7763 64-Core Processor"
    arm = ["processor\t: 0\n", "BogoMIPS\t: 50.00\n", "CPU implementer\t: 0x41\n"]
    assert bl.cpu_model_from_cpuinfo(arm) == ""


@pytest.mark.parametrize(
    "cpu, expected",
    [
        ("AMD EPYC 7763 64-Core Processor", "estimate-amd-epyc-7763-2cpu"),
        ("Intel(R) Xeon(R) Platinum 8480+", "estimate-xeon-8480-2cpu"),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "estimate-xeon-e5-2686-v4-2cpu"),
        ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "estimate-xeon-6338-2cpu"),
        ("Intel(R) Core(TM) i7-10700K CPU @ 3.80GHz", "estimate-core-i7-10700k-2cpu"),
        ("13th Gen Intel(R) Core(TM) i7-13700K", "estimate-core-i7-13700k-2cpu"),
        ("AMD Ryzen 7 5800H with Radeon Graphics", "estimate-amd-ryzen-7-5800h-2cpu"),
        ("Intel(R) Xeon(R) Processor", "estimate-xeon-2cpu"),
        ("Apple M2 Pro", "estimate-apple-m2-pro-2cpu"),
        ("", "estimate-x86-64-2cpu"),  # no model name: the architecture
    ],
)
def test_default_profile_for_sample_cpus(cpu: str, expected: str) -> None:
    machine = {"cpu": cpu, "logical_cpus": 2, "machine": "x86_64"}
    assert default_profile([FakeMeter("estimate")], machine) == expected


def test_default_profile_joins_meters_and_counts_gpus() -> None:
    machine = {"cpu": "Intel(R) Xeon(R) Platinum 8480+", "logical_cpus": 224}
    meters: Sequence[FakeMeter] = [
        FakeMeter("rapl"),
        FakeMeter("nvml", gpus=["NVIDIA H100 80GB HBM3"] * 8),
    ]
    assert default_profile(meters, machine) == "rapl+nvml-xeon-8480-224cpu-h100x8"
    one = [FakeMeter("nvml", gpus=("NVIDIA H200",))]
    assert default_profile(one, machine) == "nvml-xeon-8480-224cpu-h200x1"


def test_default_profile_mixed_gpus_are_sorted_so_device_order_does_not_matter() -> None:
    machine = {"cpu": "AMD EPYC 7B13", "logical_cpus": 8}
    first = [FakeMeter("nvml", gpus=["Tesla T4", "NVIDIA A100-SXM4-80GB", "Tesla T4"])]
    second = [FakeMeter("nvml", gpus=["NVIDIA A100-SXM4-80GB", "Tesla T4", "Tesla T4"])]
    expected = "nvml-amd-epyc-7b13-8cpu-a100-sxm4x1-t4x2"
    assert default_profile(first, machine) == default_profile(second, machine) == expected


def test_default_profile_ignores_a_gpus_attribute_of_the_wrong_type() -> None:
    machine = {"cpu": "AMD EPYC 7763", "logical_cpus": 2}
    assert default_profile([FakeMeter("custom", gpus="H100")], machine) == (
        "custom-amd-epyc-7763-2cpu"
    )


def test_default_profile_without_cpu_count_or_meters() -> None:
    machine: dict[str, object] = {"cpu": "AMD EPYC 7763", "logical_cpus": None}
    assert default_profile([], machine) == "none-amd-epyc-7763"


def test_default_profile_slugs_custom_meter_names() -> None:
    machine = {"cpu": "Apple M1", "logical_cpus": 8}
    meters = [FakeMeter("My_Meter: Fancy+1"), FakeMeter("estimate")]
    assert default_profile(meters, machine) == "my-meter-fancy-1+estimate-apple-m1-8cpu"


def test_default_profile_stays_short_and_unique() -> None:
    machine = {
        "cpu": "A Very Long Hypothetical Processor Name With Many Words",
        "logical_cpus": 512,
    }
    meters = [FakeMeter("codecarbon"), FakeMeter("rapl"), FakeMeter("some-custom-meter")]
    gpus = [FakeMeter("nvml", gpus=["NVIDIA RTX 6000 Ada Generation", "NVIDIA L40S", "Tesla T4"])]
    first = default_profile([*meters, *gpus], machine)
    second = default_profile([*meters, FakeMeter("nvml", gpus=["Tesla T4"])], machine)
    assert len(first) <= bl.MAX_PROFILE_LENGTH and len(second) <= bl.MAX_PROFILE_LENGTH
    assert first != second
    assert first.startswith("codecarbon+rapl+some-custom-meter+nvml-")


@pytest.mark.parametrize(
    "cpu",
    [
        "Intel(R) Xeon(R) Platinum 8480+",
        "\u00dcn\u00efc\u00f8d\u00e9 \uff23\uff30\uff35\u2122 @ 9GHz",  # fullwidth "CPU"
        "!!!",
        "AMD EPYC\u2122 9654 96-Core",
    ],
)
def test_default_profile_uses_only_safe_characters(cpu: str) -> None:
    profile = default_profile(
        [FakeMeter("rapl"), FakeMeter("nvml", gpus=["NVIDIA GH200 480GB"])],
        {"cpu": cpu, "logical_cpus": 4},
    )
    assert re.fullmatch(r"[a-z0-9.+-]+", profile), profile
    assert "--" not in profile


def test_default_profile_reads_this_machine_by_default() -> None:
    expected = default_profile([FakeMeter("estimate")], machine_info())
    assert default_profile([FakeMeter("estimate")]) == expected
    assert expected.endswith(f"-{os.cpu_count()}cpu")


def test_importing_the_module_imports_no_heavy_dependency() -> None:
    code = (
        "import sys, pytest_greenbudget.baseline, pytest_greenbudget.github\n"
        "heavy = {'codecarbon', 'pynvml', 'pandas', 'numpy', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
