"""benchmarks/gpu_check.py runs end to end against fake pynvml, amdsmi and torch modules.

The fakes sit on the subprocess's PYTHONPATH in place of the real modules: a GPU counter
that advances at a constant power on the real clock, and a torch whose matmuls queue
"GPU time" that ``torch.cuda.synchronize`` waits out, as real asynchronous work does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fake_nvml import FakeGpu, pynvml_source

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"

FAKE_TORCH = '''
import time, types

__version__ = "0.0-fake"
float16 = "float16"
# hip is set so that the amdsmi meter synchronises too (nvml's does regardless).
version = types.SimpleNamespace(hip="0.0-fake", cuda=None)
AVAILABLE = {available!r}
_busy_until = [0.0]


class _Tensor:
    def __matmul__(self, other):
        _busy_until[0] = max(_busy_until[0], time.perf_counter()) + 0.0005
        return _Tensor()


def randn(*shape, **kw):
    return _Tensor()


class cuda:
    @staticmethod
    def is_available():
        return AVAILABLE

    is_initialized = is_available

    @staticmethod
    def device_count():
        return 1

    @staticmethod
    def get_device_name(device=0):
        return "Fake GPU"

    @staticmethod
    def synchronize(device=None):
        delay = _busy_until[0] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


_C = types.SimpleNamespace(_cuda_hasPrimaryContext=lambda device: True)
'''

FAKE_AMDSMI = '''
import time

WATTS, RESOLUTION_UJ = 300.0, 15.3
_GPU = object()


class AmdSmiException(Exception):
    pass


def amdsmi_init(*flags):
    pass


def amdsmi_shut_down():
    pass


def amdsmi_get_processor_handles():
    return [_GPU]


def amdsmi_get_gpu_device_uuid(handle):
    return "GPU-a0a0a0a0-0000-0000-0000-000000000000"


def amdsmi_get_gpu_asic_info(handle):
    return {"market_name": "AMD Instinct MI300X"}


def amdsmi_get_energy_count(handle):
    accumulator = int(WATTS * time.perf_counter() * 1e6 / RESOLUTION_UJ)
    return {"energy_accumulator": accumulator, "counter_resolution": RESOLUTION_UJ}


def amdsmi_get_power_info(handle):
    return {"average_socket_power": int(WATTS), "current_socket_power": "N/A"}
'''


def _run(
    fakes: Path, gpu: FakeGpu | None, *, torch_gpu: bool = True, amd: bool = True
) -> subprocess.CompletedProcess[str]:
    fakes.mkdir()
    (fakes / "torch.py").write_text(FAKE_TORCH.format(available=torch_gpu))
    if gpu is not None:
        (fakes / "pynvml.py").write_text(pynvml_source([gpu]))
    else:  # no NVIDIA driver: NVML's own error
        (fakes / "pynvml.py").write_text(
            pynvml_source([]).replace(
                "sys.modules[__name__] = _fake.module",
                "_fake.init_error = _fake.LibraryNotFound\nsys.modules[__name__] = _fake.module",
            )
        )
    if amd:
        (fakes / "amdsmi.py").write_text(FAKE_AMDSMI)
    env = {k: v for k, v in os.environ.items() if not k.endswith("VISIBLE_DEVICES")}
    env["PYTHONPATH"] = str(fakes)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--windows", "2"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def _h100(**kw: object) -> FakeGpu:
    args: dict[str, object] = {"energy_mj": 10**9, "power_mw": 250_000, "counter_w": 250.0}
    return FakeGpu("GPU-aaaa1111-0000-0000-0000-000000000000", "NVIDIA H100", **{**args, **kw})  # type: ignore[arg-type]


def _row(stdout: str, meter: str) -> list[str]:
    (row,) = [ln for ln in stdout.splitlines() if ln.startswith(f"| {meter} |")]
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_both_meters_agree_with_their_counters(tmp_path: Path) -> None:
    result = _run(tmp_path / "fakes", _h100(update_s=0.02))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("GPU check, pytest-greenbudget ")
    assert "2 x 0.3 s windows" in out and out.rstrip().endswith("All checks passed.")
    nvml = _row(out, "nvml")
    assert nvml[1] == "NVIDIA H100" and nvml[2].startswith("trusted (gpu:0 ")
    assert abs(float(nvml[3]) - 250) < 40  # 20 ms counter steps over a 0.3 s window
    assert abs(float(nvml[4].split()[0]) - 1) < 0.05  # both read the same counter
    assert "read() waited" in nvml[7]
    amd = _row(out, "amdsmi")
    assert amd[1] == "AMD Instinct MI300X" and amd[2].startswith("trusted")
    assert abs(float(amd[3]) - 300) < 15
    assert abs(float(amd[4].split()[0]) - 1) < 0.01 and abs(float(amd[5].split()[0]) - 1) < 0.05
    assert len(out.splitlines()) <= 8  # one short summary; the details went to stderr
    assert "window: meter" in result.stderr


def test_an_untrusted_counter_is_reported_and_fails(tmp_path: Path) -> None:
    result = _run(tmp_path / "fakes", _h100(counter_w=None), amd=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT TRUSTED: gpu:0 NVIDIA H100: its energy counter did not move" in result.stdout
    assert "| amdsmi |" not in result.stdout and "Problems: nvml: start-up check failed" in (
        result.stdout
    )


def test_no_gpu_is_exit_status_2(tmp_path: Path) -> None:
    result = _run(tmp_path / "fakes", None, amd=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no GPU meter is available (nvml: no NVIDIA driver" in result.stdout
    result = _run(tmp_path / "fakes2", _h100(), torch_gpu=False)
    assert result.returncode == 2 and "torch sees no GPU" in result.stdout
