"""The rapl meter on fake powercap trees (both sysfs layouts); no real RAPL needed."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pytest_greenbudget.meters.base import Meter, MeterError, MeterUnavailable
from pytest_greenbudget.meters.rapl import ENV_ROOT, RaplMeter

MAX_RANGE = 262_143_328_850  # a real max_energy_range_uj (about 262 kJ)


def _zone(path: Path, name: str, energy_uj: int, max_range: int | None = MAX_RANGE) -> Path:
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    if max_range is not None:
        (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    (path / "enabled").write_text("1\n")
    return path


def build_tree(base: Path, layout: str = "class", prefix: str = "intel-rapl") -> Path:
    """Two packages (core, uncore, dram children), a psys zone and an MMIO duplicate.

    ``class``: /sys/class/powercap style, every zone a symlink at the top, children
    nested in the real package directory. ``devices``: /sys/devices/virtual/powercap
    style, zones nested under the control-type directory. Returns the root to pass.
    """
    devices = base / "devices" / "virtual" / "powercap"
    control = devices / prefix
    control.mkdir(parents=True)
    (control / "enabled").write_text("1\n")
    zones = {
        f"{prefix}:0": _zone(control / f"{prefix}:0", "package-0", 1_000_000),
        f"{prefix}:1": _zone(control / f"{prefix}:1", "package-1", 5_000_000),
        f"{prefix}:2": _zone(control / f"{prefix}:2", "psys", 9_000_000),
    }
    for pkg in (0, 1):
        parent = control / f"{prefix}:{pkg}"
        for child, name in ((0, "core"), (1, "dram"), (2, "uncore")):
            zones[f"{prefix}:{pkg}:{child}"] = _zone(
                parent / f"{prefix}:{pkg}:{child}", name, 100_000 * (pkg + 1) + child
            )
    mmio = devices / "intel-rapl-mmio"
    zones["intel-rapl-mmio:0"] = _zone(mmio / "intel-rapl-mmio:0", "package-0", 7)
    if layout == "devices":
        return devices
    root = base / "class" / "powercap"
    root.mkdir(parents=True)
    os.symlink(control, root / prefix)
    for entry, target in zones.items():
        os.symlink(target, root / entry)
    return root


def energy_file(root: Path, zone: str) -> Path:
    """The energy_uj of ``zone`` (e.g. 'intel-rapl:0:1') in either layout."""
    direct = root / zone / "energy_uj"
    if direct.exists() or direct.is_symlink():
        return direct
    parts = zone.split(":")
    prefix = parts[0]
    path = root / prefix / f"{prefix}:{parts[1]}"
    if len(parts) == 3:
        path = path / zone
    return path / "energy_uj"


def set_energy(root: Path, zone: str, value: int) -> None:
    energy_file(root, zone).write_text(f"{value}\n")


EXPECTED_DOMAINS = ["cpu:package-0", "dram:0", "cpu:package-1", "dram:1"]


@pytest.mark.parametrize("layout", ["class", "devices"])
def test_finds_packages_and_dram_only(tmp_path: Path, layout: str) -> None:
    root = build_tree(tmp_path, layout)
    meter = RaplMeter(root)
    assert list(meter.domains) == EXPECTED_DOMAINS
    assert [os.path.basename(z.path) for z in meter.zones] == [
        "intel-rapl:0",
        "intel-rapl:0:1",
        "intel-rapl:1",
        "intel-rapl:1:1",
    ]
    assert meter.read() == dict.fromkeys(EXPECTED_DOMAINS, 0.0)
    assert "cpu:package-0 (intel-rapl:0)" in meter.details
    meter.close()


def test_protocol_attributes(tmp_path: Path) -> None:
    meter = RaplMeter(build_tree(tmp_path))
    assert isinstance(meter, Meter)
    assert meter.name == "rapl"
    assert meter.estimated is False
    assert meter.per_process is False
    assert meter.resolution_s == 0.001
    meter.close()


@pytest.mark.parametrize("layout", ["class", "devices"])
def test_cumulative_joules_without_core_double_counting(tmp_path: Path, layout: str) -> None:
    root = build_tree(tmp_path, layout)
    meter = RaplMeter(root)
    set_energy(root, "intel-rapl:0", 1_000_000 + 2_500_000)  # +2.5 J
    set_energy(root, "intel-rapl:0:0", 100_000 + 2_000_000)  # core: inside the package
    set_energy(root, "intel-rapl:0:2", 100_002 + 300_000)  # uncore: inside too
    set_energy(root, "intel-rapl:0:1", 100_001 + 750_000)  # dram +0.75 J
    set_energy(root, "intel-rapl:1", 5_000_000 + 10_000_000)  # +10 J
    set_energy(root, "intel-rapl:2", 9_000_000 + 99_000_000)  # psys: ignored
    first = meter.read()
    assert first == pytest.approx(
        {"cpu:package-0": 2.5, "dram:0": 0.75, "cpu:package-1": 10.0, "dram:1": 0.0}
    )
    set_energy(root, "intel-rapl:0", 1_000_000 + 4_000_000)  # +1.5 J more
    second = meter.read()
    assert second["cpu:package-0"] == pytest.approx(4.0)
    assert second["cpu:package-1"] == pytest.approx(10.0)
    assert sum(second.values()) == pytest.approx(4.0 + 0.75 + 10.0)
    meter.close()


def test_wraparound_uses_max_energy_range(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    set_energy(root, "intel-rapl:0", MAX_RANGE - 1_000_000)
    meter = RaplMeter(root)
    set_energy(root, "intel-rapl:0", 500_000)  # wrapped: 1 J before, 0.5 J after
    assert meter.read()["cpu:package-0"] == pytest.approx(1.5)
    set_energy(root, "intel-rapl:0", MAX_RANGE - 10)  # no wrap, a long climb
    assert meter.read()["cpu:package-0"] == pytest.approx(1.5 + (MAX_RANGE - 500_010) / 1e6)
    set_energy(root, "intel-rapl:0", 40)  # wrapped again: +50 uJ
    assert meter.read()["cpu:package-0"] == pytest.approx((MAX_RANGE + 1_000_040) / 1e6, abs=1e-6)
    meter.close()


def test_wrap_without_known_range_counts_only_after_the_wrap(tmp_path: Path) -> None:
    root = build_tree(tmp_path, "devices")
    (root / "intel-rapl" / "intel-rapl:1" / "max_energy_range_uj").unlink()
    meter = RaplMeter(root)
    set_energy(root, "intel-rapl:1", 2_000_000)  # below the 5 J it started at
    assert meter.read()["cpu:package-1"] == pytest.approx(2.0)
    meter.close()


def test_root_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_tree(tmp_path / "tree", "devices")
    monkeypatch.setenv(ENV_ROOT, str(root))
    meter = RaplMeter()
    assert meter.root == str(root)
    assert list(meter.domains) == EXPECTED_DOMAINS
    set_energy(root, "intel-rapl:1:1", 200_001 + 3_000_000)
    assert meter.read()["dram:1"] == pytest.approx(3.0)
    meter.close()


def test_argument_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(ENV_ROOT, str(empty))
    with pytest.raises(MeterUnavailable, match=r"no RAPL package zone under .*empty"):
        RaplMeter()
    meter = RaplMeter(build_tree(tmp_path / "tree"))
    assert len(meter.domains) == 4
    meter.close()


def test_amd_rapl_naming(tmp_path: Path) -> None:
    root = build_tree(tmp_path, "class", prefix="amd-rapl")
    meter = RaplMeter(root)
    assert list(meter.domains) == EXPECTED_DOMAINS
    set_energy(root, "amd-rapl:1", 5_000_000 + 1_000_000)
    assert meter.read()["cpu:package-1"] == pytest.approx(1.0)
    meter.close()


def test_no_zones_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailable, match="no RAPL package zone"):
        RaplMeter(tmp_path)
    with pytest.raises(MeterUnavailable, match="no RAPL package zone"):
        RaplMeter(tmp_path / "does-not-exist")


def test_only_psys_is_unavailable(tmp_path: Path) -> None:
    _zone(tmp_path / "intel-rapl:0", "psys", 1)
    with pytest.raises(MeterUnavailable, match="no RAPL package zone"):
        RaplMeter(tmp_path)


@pytest.mark.parametrize("breakage", ["directory", "dangling-symlink", "garbage"])
def test_unreadable_counter_is_unavailable(tmp_path: Path, breakage: str) -> None:
    # CI runs as root: file modes would not stop the read, so break the file itself.
    root = build_tree(tmp_path, "devices")
    path = energy_file(root, "intel-rapl:1:1")
    path.unlink()
    if breakage == "directory":
        path.mkdir()
    elif breakage == "dangling-symlink":
        os.symlink(tmp_path / "nowhere", path)
    else:
        path.write_text("not a number\n")
    with pytest.raises(MeterUnavailable, match="cannot read the RAPL counter") as info:
        RaplMeter(root)
    assert "energy_uj" in str(info.value)


def test_permission_denied_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = build_tree(tmp_path)
    real_open = os.open

    def root_only(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("energy_uj"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", root_only)
    with pytest.raises(MeterUnavailable) as info:
        RaplMeter(root)
    message = str(info.value)
    assert "permission denied" in message
    assert "energy_uj" in message
    assert "CVE-2020-8694" in message
    assert "sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj" in message
    assert 'SUBSYSTEM=="powercap"' in message and "udev" in message


def test_read_error_later_is_meter_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meter = RaplMeter(build_tree(tmp_path))

    def broken(fd: int, size: int, offset: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "pread", broken)
    with pytest.raises(MeterError, match=r"rapl: cannot read cpu:package-0: .*Input/output"):
        meter.read()
    monkeypatch.undo()
    assert meter.read()["cpu:package-0"] == 0.0
    meter.close()


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    meter = RaplMeter(build_tree(tmp_path))
    meter.close()
    meter.close()
    with pytest.raises(MeterError, match="closed"):
        meter.read()


def test_reads_are_fresh_without_reopening(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    meter = RaplMeter(root)
    values = []
    for step in range(1, 4):
        set_energy(root, "intel-rapl:0", 1_000_000 + step * 1_000_000)
        values.append(meter.read()["cpu:package-0"])
    assert values == pytest.approx([1.0, 2.0, 3.0])
    meter.close()
