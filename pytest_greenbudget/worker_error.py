"""A usage error that only an xdist worker meets, reported once by the controller.

The controller builds the meters too (for the header and the profile) and raises any
error there first; but a meter may fail only in a worker (a device per worker, an
environment variable xdist sets). A ``UsageError`` raised in a worker's
``pytest_configure`` kills the worker: xdist prints "node down" tracebacks, restarts it
until "maximum crashed workers reached" and exits 5. Instead the worker keeps running
without measurement and sends one failed collection report carrying the message; the
controller raises it as a ``UsageError`` (exit 4, one "ERROR:" line) before any test is
scheduled, since scheduling waits for every worker's collection.
"""

from __future__ import annotations

import pytest

#: The attribute of the collection report that carries the message (xdist sends a
#: report's JSON-valued attributes to the controller as they are).
ATTRIBUTE = "greenbudget_usage_error"


class BrokenWorker:
    """Registered in a worker whose session could not start."""

    NAME = "greenbudget-broken-worker"

    def __init__(self, message: str) -> None:
        self.message = message

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config) -> None:
        report = pytest.CollectReport("", "failed", self.message, [])
        setattr(report, ATTRIBUTE, self.message)
        config.hook.pytest_collectreport(report=report)


def worker_message(config: pytest.Config, error: pytest.UsageError) -> str:
    worker = getattr(config, "workerinput", {}).get("workerid", "?")
    return f"{error} (in pytest-xdist worker {worker} only; the controller's meters started)"


def carried_message(report: pytest.CollectReport) -> str | None:
    message = getattr(report, ATTRIBUTE, None)
    return message if isinstance(message, str) else None
