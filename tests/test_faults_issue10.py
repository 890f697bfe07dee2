"""Issue 10, part A: faults that broke the plugin's promises (README "What the plugin
guarantees under faults", SPEC 7 and 8), each through a real pytest run.

The meters live in ``oddmeter.py`` in the pytester directory, one class per fault.
Runs are subprocesses where a meter thread may be left hanging or a clock is patched.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from pytest_greenbudget.baseline import load_baseline

ODDMETER = '''
"""Meters with one fault each; READS counts this process's readings."""
import threading
import time

READS = [0]
LOCK = threading.Lock()


class Good:
    name = "good"
    estimated = False
    per_process = True

    def read(self):
        READS[0] += 1
        return {"cpu": self.value(READS[0])}

    def value(self, n):
        return float(n)


class ExitAtSecond(Good):
    """read() raises SystemExit: a meter's fault, not a reason to fail the test."""

    name = "exiting"

    def value(self, n):
        if n == 2:
            raise SystemExit("sensor daemon quit")
        return float(n)


class Overflowing(Good):
    """Finite readings whose difference is not: -1.7e308 then +1.7e308."""

    name = "overflowing"

    def value(self, n):
        return -1.7e308 if n % 2 else 1.7e308


class BlockingClose(Good):
    name = "blockingclose"

    def close(self):
        time.sleep(3600)


class HungReadThenClose(Good):
    """The second read hangs holding the device lock; close() needs the same lock."""

    name = "hungdevice"

    def value(self, n):
        if n >= 2:
            with LOCK:
                time.sleep(3600)
        return float(n)

    def close(self):
        with LOCK:
            pass


class ExitingClose(Good):
    name = "exitingclose"

    def close(self):
        raise SystemExit(3)


class ExitingInit(Good):
    def __init__(self):
        raise SystemExit("no sensor")
'''

ONE = """
import pytest

@pytest.mark.energy_budget("1 kJ")
def test_a():
    pass
"""

TWO = """
import pytest

@pytest.mark.energy_budget("1 kJ")
def test_a():
    pass

@pytest.mark.energy_budget("1 kJ")
def test_b():
    pass
"""

QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


@pytest.fixture
def odd(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(oddmeter=ODDMETER)
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path) + (os.pathsep + old if old else ""))
    monkeypatch.setenv("COLUMNS", "300")
    for name in (
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
        "GREENBUDGET_READ_TIMEOUT_S",
        "GREENBUDGET_POWERCAP_ROOT",
    ):
        monkeypatch.delenv(name, raising=False)
    return pytester


def run(p: pytest.Pytester, *args: str, timeout: float = 90) -> pytest.RunResult:
    return p.runpytest_subprocess(*QUIET, *args, timeout=timeout)


def text(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def no_crash(result: pytest.RunResult) -> None:
    out = text(result)
    assert "INTERNALERROR" not in out, out
    assert "Traceback (most recent call last)" not in out, out


def report(p: pytest.Pytester) -> dict[str, dict[str, object]]:
    doc = json.loads((p.path / "r.json").read_text(encoding="utf-8"))
    return {e["id"]: e for e in doc["entries"]}


def warnings_of(result: pytest.RunResult) -> list[str]:
    return re.findall(r"EnergyBudgetWarning: (greenbudget: .*)", text(result))


# ------------------------------------------------------------------ item 2: lone surrogates

SURROGATE = """
import pytest

def test_region(energy_meter):
    with energy_meter.measure("a\\udcffb"):
        pass

@pytest.mark.energy_budget("1 kJ")
def test_plain():
    pass
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_region_name_with_a_lone_surrogate_is_saved_and_reported(
    odd: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    odd.makepyfile(test_s=SURROGATE)
    summary = odd.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run(
        odd,
        "--greenbudget-meter=oddmeter:Good",
        "--greenbudget-profile=p",
        "--greenbudget-save",
        "--greenbudget-markdown=r.md",
        "--greenbudget-json=r.json",
        *(["-n", "2"] if xdist else []),
    )
    no_crash(result)
    assert result.ret == 0, text(result)
    assert "energy summary" in result.stdout.str()
    region = "test_s.py::test_region::a\\udcffb"  # the id, escaped everywhere alike
    assert set(report(odd)) == {region, "test_s.py::test_plain"}
    baseline = odd.path / ".greenbudget" / "baseline.json"
    baseline.read_bytes().decode("utf-8")  # valid UTF-8
    loaded = load_baseline(baseline)
    assert set(loaded.entries("p")) == {region, "test_s.py::test_plain"}
    for markdown in (odd.path / "r.md", summary):
        assert "test_s.py::test_region::a\\udcffb" in markdown.read_text(encoding="utf-8")


# ------------------------------------------------------------------ item 3: report over baseline


@pytest.mark.parametrize("option", ["--greenbudget-json", "--greenbudget-markdown"])
@pytest.mark.parametrize("how", ["same", "symlink", "config"])
def test_report_path_naming_the_baseline_or_config_is_a_usage_error(
    odd: pytest.Pytester, option: str, how: str
) -> None:
    odd.makepyfile(test_a=ONE)
    odd.makefile(".toml", pyproject='[tool.greenbudget]\nbaseline = "b/base.json"\n')
    base = odd.path / "b" / "base.json"
    base.parent.mkdir()
    base.write_text('{"schema": "greenbudget-baseline/1", "profiles": {}}', encoding="utf-8")
    before = base.read_bytes(), (odd.path / "pyproject.toml").read_bytes()
    if how == "same":
        target, names = "b/base.json", "base.json"
    elif how == "symlink":
        (odd.path / "link.json").symlink_to(base)
        target, names = "link.json", "base.json"
    else:
        target, names = "pyproject.toml", "pyproject.toml"
    result = run(odd, "--greenbudget-meter=oddmeter:Good", f"{option}={target}")
    assert result.ret == 4, text(result)
    err = result.stderr.str()
    assert option in err and names in err and target.split("/")[-1] in err, err
    assert "Traceback" not in err, err
    assert (base.read_bytes(), (odd.path / "pyproject.toml").read_bytes()) == before


def test_two_reports_on_one_path_is_a_usage_error(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    result = run(
        odd, "--greenbudget-meter=oddmeter:Good", "--greenbudget-json=r", "--greenbudget-markdown=r"
    )
    assert result.ret == 4, text(result)
    assert "--greenbudget-markdown" in result.stderr.str(), text(result)


# ------------------------------------------------------------------ item 6: patched clocks

PATCHED_CLOCKS = """
import itertools, sys, time
import pytest

@pytest.mark.energy_budget("1 J")
def test_patches_the_clocks(monkeypatch):
    ticks = itertools.count(1e9, 1e9)
    fake = lambda: next(ticks)
    real = {time.perf_counter, time.process_time, time.monotonic}
    # freezegun-style: every module attribute that is a real clock, in every module
    for module in list(sys.modules.values()):
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if any(value is clock for clock in real):
                monkeypatch.setattr(module, attr, fake)
    import resource
    monkeypatch.setattr(resource, "getrusage", lambda who: resource.struct_rusage((1e9,) * 16))
    assert time.process_time() > 1e8
"""


@pytest.mark.parametrize("meter", ["estimate", "oddmeter:Good"])
def test_a_test_patching_the_clocks_does_not_fool_the_meter(
    odd: pytest.Pytester, meter: str
) -> None:
    odd.makepyfile(test_clock=PATCHED_CLOCKS)
    result = run(
        odd,
        f"--greenbudget-meter={meter}",
        "--greenbudget-save",
        "--greenbudget-profile=p",
        "--greenbudget-json=r.json",
    )
    no_crash(result)
    assert result.ret == 0, text(result)
    (entry,) = report(odd).values()
    assert entry["status"] == "ok", entry
    assert entry["seconds"] < 600 and entry["joules"] <= 1, entry
    saved = load_baseline(odd.path / ".greenbudget" / "baseline.json").entries("p")
    (numbers,) = saved.values()
    assert numbers["seconds"] < 600, numbers  # type: ignore[operator]


# ------------------------------------------------------------------ item 7: overflow


def test_readings_whose_difference_overflows_leave_the_entry_unmeasured(
    odd: pytest.Pytester,
) -> None:
    odd.makepyfile(test_two=TWO)
    result = run(odd, "--greenbudget-meter=oddmeter:Overflowing", "--greenbudget-json=r.json")
    no_crash(result)
    assert result.ret == 0, text(result)
    result.assert_outcomes(passed=2)
    assert "energy summary" in result.stdout.str()
    for entry in report(odd).values():
        assert entry["status"] == "unmeasured", entry
        assert "not a real reading" in str(entry["message"]), entry
        assert "meter 'overflowing'" in str(entry["message"]), entry
    (warning,) = warnings_of(result)
    assert "2 entries left unmeasured" in warning


@pytest.mark.parametrize(
    ("key", "value"),
    [("cpu_tdp_watts", "1.7e308"), ("cpu_tdp_watts", "2e6"), ("carbon_intensity", "1e300")],
)
def test_settings_that_would_overflow_are_usage_errors(
    odd: pytest.Pytester, key: str, value: str
) -> None:
    odd.makepyfile(test_a=ONE)
    odd.makefile(".toml", pyproject=f"[tool.greenbudget]\n{key} = {value}\n")
    result = run(odd, "--greenbudget-meter=estimate")
    assert result.ret == 4, text(result)
    assert f"[tool.greenbudget] {key}" in result.stderr.str(), text(result)
    assert "Traceback" not in text(result)


# ------------------------------------------------------------------ item 8: BaseException


def test_meter_read_raising_system_exit_leaves_the_entry_unmeasured(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_two=TWO)
    result = run(odd, "--greenbudget-meter=oddmeter:ExitAtSecond", "--greenbudget-json=r.json")
    no_crash(result)
    result.assert_outcomes(passed=2)
    assert result.ret == 0, text(result)
    entries = report(odd)
    assert entries["test_two.py::test_a"]["status"] == "unmeasured"
    assert "SystemExit: sensor daemon quit" in str(entries["test_two.py::test_a"]["message"])
    assert entries["test_two.py::test_b"]["status"] == "ok"


def test_meter_close_raising_system_exit_ends_the_session_normally(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    result = run(odd, "--greenbudget-meter=oddmeter:ExitingClose", "--greenbudget-json=r.json")
    no_crash(result)
    result.assert_outcomes(passed=1)
    assert result.ret == 0, text(result)


def test_meter_constructor_raising_system_exit_is_a_usage_error(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    result = run(odd, "--greenbudget-meter=oddmeter:ExitingInit")
    assert result.ret == 4, text(result)
    assert "SystemExit: no sensor" in result.stderr.str(), text(result)


# ------------------------------------------------------------------ item 9: read time-out


@pytest.mark.parametrize(
    ("value", "said"),
    [("inf", "longest bound"), ("1e10", "longest bound"), ("nan", "not a number"), ("-1", "> 0")],
)
def test_unusable_read_timeout_is_clamped_with_a_warning(
    odd: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str, said: str
) -> None:
    odd.makepyfile(test_two=TWO)
    monkeypatch.setenv("GREENBUDGET_READ_TIMEOUT_S", value)
    result = run(
        odd, "--greenbudget-meter=oddmeter:Good", "--greenbudget-json=r.json", "-W", "error"
    )
    no_crash(result)
    assert result.ret == 0, text(result)
    assert [e["status"] for e in report(odd).values()] == ["ok", "ok"]
    (warning,) = warnings_of(result)
    assert f"GREENBUDGET_READ_TIMEOUT_S={value!r}" in warning and said in warning, warning


# ------------------------------------------------------------------ item 10: close() that blocks


@pytest.mark.parametrize(
    ("meter", "said"),
    [
        ("BlockingClose", "close() did not return within 1 s"),
        ("HungReadThenClose", "was hung, so its close() was not called"),
    ],
)
def test_a_close_that_blocks_does_not_keep_pytest_from_exiting(
    odd: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, meter: str, said: str
) -> None:
    odd.makepyfile(test_two=TWO)
    monkeypatch.setenv("GREENBUDGET_READ_TIMEOUT_S", "1")
    start = time.monotonic()
    result = run(odd, f"--greenbudget-meter=oddmeter:{meter}", timeout=60)
    assert time.monotonic() - start < 45
    no_crash(result)
    result.assert_outcomes(passed=2)
    assert result.ret == 0, text(result)
    assert any(said in w for w in warnings_of(result)), text(result)


# ------------------------------------------------------------------ items 13 and 16: config files


def test_config_file_that_is_not_utf8_is_a_usage_error(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    (odd.path / "gb.toml").write_bytes(b'[tool.greenbudget]\nprofile_note = "caf\xe9"\n')
    result = run(odd, "--greenbudget-config=gb.toml")
    assert result.ret == 4, text(result)
    assert "gb.toml" in result.stderr.str() and "UTF-8" in result.stderr.str(), text(result)
    assert "INTERNALERROR" not in text(result)


@pytest.mark.parametrize(
    ("value", "said"),
    [('"a\\u0000b"', "NUL"), (f'"{"x" * 5000}"', "cannot be used as a path")],
    ids=["nul", "too-long"],
)
def test_baseline_path_that_cannot_be_a_path_is_a_usage_error(
    odd: pytest.Pytester, value: str, said: str
) -> None:
    odd.makepyfile(test_a=ONE)
    odd.makefile(".toml", pyproject=f"[tool.greenbudget]\nbaseline = {value}\n")
    result = run(odd, "--greenbudget-meter=oddmeter:Good")
    assert result.ret == 4, text(result)
    err = result.stderr.str()
    assert "pyproject.toml" in err and "[tool.greenbudget] baseline" in err and said in err, err
    assert "INTERNALERROR" not in text(result)


def test_command_line_paths_that_cannot_be_paths_are_usage_errors(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    for option in ("--greenbudget-config", "--greenbudget-json", "--greenbudget-markdown"):
        result = run(odd, "--greenbudget-meter=oddmeter:Good", f"{option}={'y' * 5000}")
        assert result.ret == 4, text(result)
        assert option in result.stderr.str(), text(result)
        assert "INTERNALERROR" not in text(result)
    result = odd.runpytest(*QUIET, "--greenbudget-meter=oddmeter:Good", "--greenbudget-json=a\0b")
    assert result.ret == 4, text(result)
    assert "NUL" in text(result)


def test_config_naming_a_directory_says_it_is_a_directory(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    (odd.path / "conf").mkdir()
    result = run(odd, "--greenbudget-config=conf")
    assert result.ret == 4, text(result)
    err = result.stderr.str()
    assert "conf is a directory" in err and "does not exist" not in err, err


# ------------------------------------------------------------------ item 14: odd sysfs bytes


@pytest.mark.parametrize("zone", ["package", "dram"])
def test_powercap_name_with_a_non_ascii_byte_never_breaks_auto(
    odd: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    root = odd.path / "powercap"
    package = root / "intel-rapl:0"
    package.mkdir(parents=True)
    (package / "name").write_bytes(b"package-\xff0\n" if zone == "package" else b"package-0\n")
    (package / "energy_uj").write_text("1000000\n")
    dram = package / "intel-rapl:0:0"
    dram.mkdir()
    (dram / "name").write_bytes(b"dr\xe4m\n")
    (dram / "energy_uj").write_text("5\n")
    monkeypatch.setenv("GREENBUDGET_POWERCAP_ROOT", str(root))
    odd.makepyfile(test_a=ONE)
    result = run(odd, "--greenbudget-json=r.json")
    no_crash(result)
    assert result.ret == 0, text(result)
    (entry,) = report(odd).values()
    assert entry["status"] == "ok", entry


# ------------------------------------------------------------------ item 19: a look-alike table


@pytest.mark.parametrize(
    ("table", "shown"),
    [
        ("[tool.greenbudgte]", "[tool.greenbudgte]"),
        ("[tool.green-budget]", "[tool.green-budget]"),
        ("[greenbudget]", "[greenbudget]"),
    ],
)
def test_a_misspelt_table_is_a_warning_naming_it_and_the_right_name(
    odd: pytest.Pytester, table: str, shown: str
) -> None:
    odd.makepyfile(test_a=ONE)
    odd.makefile(".toml", pyproject=f'{table}\non_exceed = "warn"\n')
    result = run(odd, "--greenbudget-meter=oddmeter:Good", "-W", "error")
    no_crash(result)
    assert result.ret == 0, text(result)
    (warning,) = warnings_of(result)
    assert shown in warning and "did you mean [tool.greenbudget]" in warning, warning
    assert "pyproject.toml" in warning


def test_a_correct_table_gives_no_look_alike_warning(odd: pytest.Pytester) -> None:
    odd.makepyfile(test_a=ONE)
    odd.makefile(".toml", pyproject='[tool.greenbudget]\non_exceed = "warn"\n[tool.black]\n')
    result = run(odd, "--greenbudget-meter=oddmeter:Good")
    assert result.ret == 0, text(result)
    assert warnings_of(result) == []
