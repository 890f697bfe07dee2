"""The pytest hooks. Each one delegates to the plain-Python modules beside it."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any

import pytest

from pytest_greenbudget.session import ITEM_STATE, EnergySession
from pytest_greenbudget.warning import EnergyBudgetWarning

SESSION = pytest.StashKey[EnergySession]()
MARKER_HELP = (
    "energy_budget(budget=None, *, tolerance=None, on_exceed=None, rounds=None, warmup=None): "
    "measure this test's energy and fail (or warn) when it exceeds the budget, e.g. '50 J', "
    "'2 Wh' or '3 gCO2e' (pytest-greenbudget)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("greenbudget", "energy and carbon budgets (pytest-greenbudget)")
    group.addoption(
        "--greenbudget-config",
        metavar="PATH",
        default=None,
        help="read [tool.greenbudget] from this TOML file instead of pyproject.toml",
    )
    group.addoption(
        "--greenbudget-meter",
        metavar="SPEC",
        default=None,
        help="meters to use: auto, estimate, rapl, nvml, codecarbon, 'a,b' or "
        "package.module:Class (overrides the 'meter' setting)",
    )
    group.addoption(
        "--greenbudget-off",
        action="store_true",
        default=False,
        help="measure nothing and judge nothing",
    )
    group.addoption(
        "--greenbudget-all",
        action="store_true",
        default=False,
        help="also measure and report tests without a budget (as measure_all = true)",
    )
    group.addoption(
        "--greenbudget-warn-only",
        action="store_true",
        default=False,
        help="every energy verdict warns; no test fails for energy",
    )
    group.addoption(
        "--greenbudget-save",
        action="store_true",
        default=False,
        help="write this run's results of passed tests into the baseline file",
    )
    group.addoption(
        "--greenbudget-profile",
        metavar="NAME",
        default=None,
        help="baseline profile to compare with and save to (default: from meters and hardware)",
    )
    group.addoption(
        "--greenbudget-json",
        metavar="PATH",
        default=None,
        help="write the JSON energy report to PATH",
    )
    group.addoption(
        "--greenbudget-markdown",
        metavar="PATH",
        default=None,
        help="write the Markdown energy report to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    if config.getoption("greenbudget_off") or any(
        config.getoption(name, False) for name in ("help", "markers")
    ):
        return  # --help and --markers work even with a broken [tool.greenbudget] table
    from pytest_greenbudget.lifecycle import start_session

    session = start_session(config)
    config.stash[SESSION] = session
    config.pluginmanager.register(GreenBudgetPlugin(session), "greenbudget-session")
    if session.settings.phases == "all":
        config.pluginmanager.register(AllPhases(session), "greenbudget-all-phases")
    if session.lock is not None:
        config.pluginmanager.register(SharedLock(session), "greenbudget-xdist-lock")
    if session.is_controller:
        config.pluginmanager.register(ControllerHooks(session), "greenbudget-xdist-controller")


@pytest.fixture
def energy_meter(request: pytest.FixtureRequest) -> Any:
    """Measure named regions of a test: ``with energy_meter.measure("int8") as r: ...``."""
    session = request.config.stash.get(SESSION, None)
    if session is None:
        from pytest_greenbudget.lifecycle import fixture_only_meter

        return fixture_only_meter()
    state = request.node.stash.get(ITEM_STATE, None)
    if state is None:  # requested with getfixturevalue(): collection could not know
        from pytest_greenbudget.session import ItemState

        state = request.node.stash[ITEM_STATE] = ItemState()
        _ensure_test_hooks(request.config, session)
    return session.energy_meter(state)


def _ensure_test_hooks(config: pytest.Config, session: EnergySession) -> None:
    if not config.pluginmanager.has_plugin(TestHooks.NAME):
        config.pluginmanager.register(TestHooks(session), TestHooks.NAME)


class GreenBudgetPlugin:
    """Session-wide hooks that exist only while measurement is on."""

    def __init__(self, session: EnergySession) -> None:
        self.session = session

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        from pytest_greenbudget.lifecycle import header_lines

        return header_lines(self.session)

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        measured = False
        for item in items:
            state = self.session.prepare(item)
            if state is not None:
                item.stash[ITEM_STATE] = state
                measured = True
        if measured:
            _ensure_test_hooks(config, self.session)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.session.is_worker or not self.session.entries:
            return
        terminalreporter.write_sep("=", "energy summary (pytest-greenbudget)")
        from pytest_greenbudget.report import terminal_lines

        for line in terminal_lines(self.session.entries, self.session.run_info()):
            terminalreporter.write_line(line)
        from pytest_greenbudget.lifecycle import github_lines

        for line in github_lines(self.session):
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from pytest_greenbudget.lifecycle import finish_session

        messages = finish_session(self.session, interrupted=exitstatus == 2)
        with warnings.catch_warnings():
            # Session-level news (a broken meter, an unsaved baseline) is reported, never
            # raised: under -W error it would otherwise end the run with a traceback.
            warnings.simplefilter("always", EnergyBudgetWarning)
            for message in messages:
                warnings.warn(EnergyBudgetWarning(message), stacklevel=1)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.session.close()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        from pytest_greenbudget.xdist import WORKERINPUT_KEY

        node.workerinput[WORKERINPUT_KEY] = self.session.lock_dir_for_workers()


class TestHooks:
    """Per-test hooks, registered only once some test has something to measure.

    A suite of unmeasured tests then pays for no per-test hook at all.
    """

    NAME = "greenbudget-tests"

    def __init__(self, session: EnergySession) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        state = item.stash.get(ITEM_STATE, None)
        if state is not None and state.marker_error is not None:
            pytest.fail(state.marker_error, pytrace=False)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        __tracebackhide__ = True
        state = item.stash.get(ITEM_STATE, None)
        if state is None:
            passed = False
            try:
                result = yield  # the fast path of unmeasured tests: nothing to read or judge
                passed = True
                return result
            finally:
                late = item.stash.get(ITEM_STATE, None)  # energy_meter via getfixturevalue
                if late is not None and late.regions:
                    late.call_ran, late.call_passed = True, passed
                    self.session.finish(item, late)
        try:
            return (yield from self.session.run_call(item, state))
        finally:
            if self.session.settings.phases == "call":
                self.session.finish(item, state)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield  # outermost wrapper: the report as every other plugin left it
        state = item.stash.get(ITEM_STATE, None)
        if state is None:
            return report
        if report.when == "teardown" and state.entries:
            # JSON values only: xdist serialises the report's attributes as they are.
            entries = [entry.to_json() for entry in state.entries]
            report.greenbudget_entries = entries  # type: ignore[attr-defined]
        if not self.session.is_worker:  # a worker's reports reach the controller instead
            self.session.collect(report)
        return report


class ControllerHooks:
    """On the xdist controller, entries arrive on the workers' reports."""

    def __init__(self, session: EnergySession) -> None:
        self.session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.session.collect(report)


class AllPhases:
    """Setup and teardown measurement, registered only under ``phases = "all"``."""

    def __init__(self, session: EnergySession) -> None:
        self.session = session

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        state = item.stash.get(ITEM_STATE, None)
        if state is None:
            return (yield)
        with self.session.measure_phase(item, state, "setup"):
            return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        state = item.stash.get(ITEM_STATE, None)
        if state is None:
            return (yield)
        try:
            with self.session.measure_phase(item, state, "teardown"):
                return (yield)
        except BaseException:
            state.call_passed = False  # the test's own teardown error is the news, not energy
            raise
        finally:
            self.session.finish(item, state)


class SharedLock:
    """Under xdist with machine-wide meters, every test holds the shared side of the lock."""

    def __init__(self, session: EnergySession) -> None:
        self.session = session

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        with self.session.shared():
            return (yield)
