"""GitHub Actions workflow commands, so an energy verdict shows up on the PR's diff.

The escaping is what the runner undoes (see ``escapeData``/``escapeProperty`` in
actions/toolkit): without it a newline ends the command early, and a ``,`` or ``:``
in a title or a parametrized node id would be read as the next property.
"""

from __future__ import annotations

import os
from typing import Literal

Level = Literal["error", "warning", "notice"]

_LEVELS = ("error", "warning", "notice")


def in_github_actions() -> bool:
    """True inside a GitHub Actions job, where the runner reads workflow commands."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """Escape a command's message: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: as data, plus ``:`` and ``,`` (the separators)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: Level, path: str, line: int | None, title: str, message: str) -> str:
    """One ``::error file=...,line=...,title=...::message`` line (no trailing newline).

    ``line`` is 1-based; None annotates the whole file. An empty title is left out.
    """
    if level not in _LEVELS:
        raise ValueError(f"annotation level must be one of {_LEVELS}, got {level!r}")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int) or line < 1):
        raise ValueError(f"annotation line must be a 1-based int or None, got {line!r}")
    properties = [f"file={escape_property(path)}"]
    if line is not None:
        properties.append(f"line={line}")
    if title:
        properties.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def repository_path(rootdir: str, path: str, workspace: str | None) -> str:
    """`path` (relative to pytest's rootdir) as GitHub wants it: relative to the repository.

    GitHub places an annotation by a path from the repository root, which is
    ``GITHUB_WORKSPACE`` in a job; pytest's rootdir may be a folder below it (or above
    it). A path outside the workspace is left as pytest gave it.
    """
    if not path:
        return path
    absolute = os.path.normpath(os.path.join(rootdir, path))
    root = os.path.normpath(workspace or rootdir)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        return path.replace(os.sep, "/")
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/")
    return relative.replace(os.sep, "/")
