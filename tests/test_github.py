"""Unit tests for GitHub workflow-command annotations."""

from __future__ import annotations

import pytest

from pytest_greenbudget.github import annotation, escape_data, escape_property, in_github_actions


def test_plain_error_annotation() -> None:
    line = annotation(
        "error", "tests/test_x.py", 12, "energy budget exceeded", "used 12.4 J, budget 10 J"
    )
    assert line == (
        "::error file=tests/test_x.py,line=12,title=energy budget exceeded"
        "::used 12.4 J, budget 10 J"
    )


def test_warning_without_line_or_title() -> None:
    assert annotation("warning", "tests/test_x.py", None, "", "msg") == (
        "::warning file=tests/test_x.py::msg"
    )


def test_notice_level() -> None:
    assert annotation("notice", "a.py", 1, "t", "m") == "::notice file=a.py,line=1,title=t::m"


def test_message_escapes_percent_and_newlines_but_not_separators() -> None:
    message = "used 124% of budget\r\nbaseline: 9.8 J, tolerance 10%"
    assert annotation("error", "a.py", 3, "t", message).endswith(
        "::used 124%25 of budget%0D%0Abaseline: 9.8 J, tolerance 10%25"
    )


def test_properties_escape_separators_too() -> None:
    line = annotation(
        "error",
        "tests/test_a.py",
        7,
        "energy regression: tests/test_a.py::test_x[a,b] 100%\n",
        "m",
    )
    assert line == (
        "::error file=tests/test_a.py,line=7,"
        "title=energy regression%3A tests/test_a.py%3A%3Atest_x[a%2Cb] 100%25%0A::m"
    )


def test_windows_path_is_escaped() -> None:
    assert annotation("error", "C:\\src\\t,1.py", None, "", "m") == (
        "::error file=C%3A\\src\\t%2C1.py::m"
    )


def test_percent_is_escaped_first_so_escapes_are_not_doubled_or_lost() -> None:
    assert escape_data("%0A\n") == "%250A%0A"
    assert escape_property("%3A:") == "%253A%3A"
    assert escape_property("a\rb") == "a%0Db"


@pytest.mark.parametrize("level", ["info", "ERROR", ""])
def test_unknown_level_is_refused(level: str) -> None:
    with pytest.raises(ValueError, match="level"):
        annotation(level, "a.py", 1, "t", "m")  # type: ignore[arg-type]


@pytest.mark.parametrize("line", [0, -1, True, 1.5])
def test_line_must_be_one_based_int(line: object) -> None:
    with pytest.raises(ValueError, match="line"):
        annotation("error", "a.py", line, "t", "m")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, expected", [("true", True), ("false", False), ("", False), (None, False)]
)
def test_in_github_actions(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    assert in_github_actions() is expected


def test_annotation_paths_are_relative_to_the_workspace() -> None:
    from pytest_greenbudget.github import repository_path

    assert repository_path("/ws/python/pkg", "tests/t.py", "/ws") == "python/pkg/tests/t.py"
    assert repository_path("/ws/python/pkg", "tests/t.py", None) == "tests/t.py"
    assert repository_path("/ws", "tests/t.py", "/ws") == "tests/t.py"
    # outside the workspace: left as pytest gave it
    assert repository_path("/elsewhere", "tests/t.py", "/ws") == "tests/t.py"
    assert repository_path("/ws/a", "", "/ws") == ""
