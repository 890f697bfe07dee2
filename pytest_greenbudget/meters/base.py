"""The meter protocol every built-in and custom meter follows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class Meter(Protocol):
    """Cumulative joules per domain since an arbitrary origin; the plugin subtracts readings.

    Optional attributes, read with ``getattr``: ``per_process`` (bool, default False:
    the meter counts the whole machine), ``resolution_s`` (float: windows shorter than
    this are flagged as below the meter's resolution), ``details`` (a one-line
    description for the report, e.g. where the TDP came from), ``noise`` (a
    ``pytest_greenbudget.stats.NoisePrior``: what is known of the meter's noise on this
    kind of machine; without it readings are trusted to repeat exactly, SPEC 12) and
    ``close()``.
    """

    name: str
    estimated: bool

    def read(self) -> Mapping[str, float]: ...


class MeterUnavailable(Exception):
    """The meter cannot work on this machine; the message says why and how to fix it."""


class MeterError(Exception):
    """A reading failed in the middle of a run; the entry becomes ``unmeasured``."""
