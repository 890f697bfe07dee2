"""pytest's outcomes, read and changed only where every other plugin has had its say.

An energy verdict is applied to the test's *report*, after xfail, unittest's expected
failures, rerun plugins and the like decided the test's own outcome; it is never an
exception raised inside the test's call, which those plugins would reinterpret (an
XPASS(strict) failure became "xfailed"). So energy can only turn a passed report into
a failed one: never a failure into a pass, never a skip into a row.
"""

from __future__ import annotations

import pytest

#: pytest's outcomes as the JSON report names them (SPEC 8), worst last.
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def spec_outcome(report: pytest.TestReport) -> str:
    """``passed``, ``skipped``, ``failed`` or ``error`` for any report.

    Other plugins add outcomes of their own (pytest-rerunfailures' ``rerun``); such a
    report did not pass, so it counts as a failure of its phase and is never saved.
    """
    if report.passed:
        return "passed"
    if report.skipped:
        return "skipped"
    return "failed" if report.when == "call" else "error"


def worse(first: str, second: str) -> str:
    return max(first, second, key=lambda outcome: _RANK.get(outcome, 2))


def fail_report(item: pytest.Item, report: pytest.TestReport, message: str) -> None:
    """Turn a passed report into an energy failure shown as ``pytest.fail`` shows one."""
    try:
        raise pytest.fail.Exception(message, pytrace=False)
    except pytest.fail.Exception:
        excinfo = pytest.ExceptionInfo[BaseException].from_current()
    try:
        longrepr: object = item.repr_failure(excinfo)
    except Exception:  # an item type whose repr_failure knows only its own errors
        longrepr = None
    report.outcome = "failed"
    report.longrepr = longrepr or message  # type: ignore[assignment]
    if hasattr(report, "wasxfail"):
        # An XPASS that fails for energy is a failure, not "xfail-marked test passes".
        del report.wasxfail


def own_stop(exc: BaseException) -> bool:
    """True for pytest's own stop (``--sw``, ``-x`` under xdist), not a real Ctrl-C.

    Both end the session with exit status 2; pytest and pytest-xdist raise their own
    ``Interrupted`` (a KeyboardInterrupt subclass) with the reason, while a real
    interrupt is a plain KeyboardInterrupt (or xdist's report that a worker got one).
    """
    if type(exc) is KeyboardInterrupt or not isinstance(exc, KeyboardInterrupt):
        return False
    module = type(exc).__module__
    is_pytests = isinstance(exc, pytest.Session.Interrupted) or module.startswith("xdist")
    return is_pytests and "keyboard-interrupt" not in str(exc)
