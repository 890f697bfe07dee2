"""Is this run under coverage or a profiler? Its energy is then not comparable (SPEC 12).

Coverage multiplied the measured energy of tests 2.5 to 5x here, so a traced run is
compared with, and saved into, a profile of its own (``<profile>-traced``).
"""

from __future__ import annotations

import sys

import pytest

#: The suffix of the profile of an instrumented run.
SUFFIX = "-traced"


def active(config: pytest.Config) -> str | None:
    """What instruments this process, in words, or None for a plain run."""
    if sys.gettrace() is not None:
        return "a trace function (sys.settrace: coverage, a debugger)"
    if sys.getprofile() is not None:
        return "a profile function (sys.setprofile)"
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+: coverage's sysmon core
    if monitoring is not None:
        for tool_id in (0, 1, 2):  # DEBUGGER_ID, COVERAGE_ID, PROFILER_ID
            name = monitoring.get_tool(tool_id)
            if name:
                return f"sys.monitoring tool {name!r}"
    cov = config.pluginmanager.get_plugin("_cov")
    if cov is not None and getattr(config.option, "cov_source", None):
        return "pytest-cov"
    return None
