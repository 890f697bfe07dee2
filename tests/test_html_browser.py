"""SPEC 15: the HTML report as a person sees it, rendered by a real headless Chromium.

The page is drawn twice: as written, and with every chart's SVG emptied (same boxes, so
the same layout). The screenshots must differ by many pixels, some of them in the
series colour: the charts are drawn, not blank. The browser's console must stay empty
(the page has no script; a failed resource load or a script error would be logged).
Skips where no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pytest_greenbudget import html_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1200, 1600


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


pytestmark = pytest.mark.skipif(
    _browser() is None,
    reason="no Chromium found (apt-get install chromium): the browser test needs one",
)


def screenshot(page: Path, out: Path, profile: Path) -> str:
    """Render `page` into the PNG `out`; return the browser's log."""
    done = subprocess.run(
        [
            str(_browser()),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={out}",
            f"--window-size={WIDTH},{HEIGHT}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.is_file(), f"no screenshot (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA PNG (pure Python, zlib)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if channels == 3 else bytes(
            v for i, v in enumerate(line) if i % 4 != 3
        ))
        previous = line
    return width, height, rows


def report_docs() -> list[dict[str, object]]:
    from test_html_report import report_doc

    return [report_doc(i, scale=1.0 + 0.3 * (i % 2)) for i in range(4)]


def console_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def test_the_report_draws_its_charts_in_a_real_browser(tmp_path: Path) -> None:
    runs = [html_report.parse_report(d, f"r{i}.json", i) for i, d in enumerate(report_docs())]
    page = html_report.render(runs)
    blank = re.sub(r"(<svg\b[^>]*>).*?</svg>", r"\1</svg>", page, flags=re.DOTALL)
    assert blank.count("<svg") == page.count("<svg") == 4
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    (tmp_path / "blank.html").write_text(blank, encoding="utf-8")

    log = screenshot(tmp_path / "page.html", tmp_path / "page.png", tmp_path / "profile")
    assert console_lines(log) == [], "\n".join(console_lines(log))
    screenshot(tmp_path / "blank.html", tmp_path / "blank.png", tmp_path / "profile")

    width, height, drawn = decode_png((tmp_path / "page.png").read_bytes())
    _, _, empty = decode_png((tmp_path / "blank.png").read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    changed = series = 0
    for row, other in zip(drawn, empty, strict=True):
        if row == other:
            continue
        for x in range(0, len(row), 3):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if (r, g, b) != (other[x], other[x + 1], other[x + 2]):
                changed += 1
                series += b - r > 60 and b - g > 20  # the blue of the first series
    # axes, labels, guides and lines: thousands of pixels, some of them the series' blue
    assert changed > 5000, changed
    assert series > 300, series


def test_the_console_check_sees_a_script_error(tmp_path: Path) -> None:
    """The check above would notice an error: a page that throws is logged."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    log = screenshot(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("boom" in line for line in console_lines(log)), log[-2000:]


def test_the_report_of_a_pytest_run_renders(tmp_path: Path) -> None:
    """A page from JSON reports on disk (the CLI's path) opens without console errors."""
    folder = tmp_path / "history"
    folder.mkdir()
    for i, doc in enumerate(report_docs()):
        (folder / f"run{i}.json").write_text(json.dumps(doc), encoding="utf-8")
    assert html_report.main([str(folder), "--html", str(tmp_path / "r.html")]) == 0
    log = screenshot(tmp_path / "r.html", tmp_path / "r.png", tmp_path / "profile")
    assert console_lines(log) == []
