"""Numbers in words: the one formatter for intervals, percentages and money.

Every number a report, a terminal table, a figure or the classroom page
prints goes through these functions, so that ``83.4 [82.9, 83.8]`` looks the
same everywhere:

- ``interval(mean, low, high, digits)``: a mean with its interval in brackets;
  just the mean when the interval is unbounded, ``-`` when there is no value;
- ``percent(share, digits)``: a share of 1 as a percentage, ``12.5%``;
- ``money(value)``: a currency amount, short: ``950``, ``12k``, ``1.5M``;
- ``render(template, measures)``: a sentence whose ``{name:spec}`` fields are
  measured intervals (see ``render`` for the specs).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping

from sim.experiments.intervals import Interval

MISSING = "-"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def number(value: float, digits: int = 0, *, signed: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals (``-`` when missing)."""
    if not _finite(value):
        return MISSING
    return f"{value:{'+' if signed else ''},.{digits}f}"


def interval(
    mean: float,
    low: float,
    high: float,
    digits: int = 1,
    *,
    signed: bool = False,
    scale: float = 1.0,
    unit: str = "",
) -> str:
    """``"83.4 [82.9, 83.8]"``: a mean and its interval; just the mean when the interval is unbounded.

    Args:
        mean: the value.
        low: the lower end of its interval.
        high: the upper end of its interval.
        digits: decimals shown.
        signed: show a ``+`` on positive numbers (for changes).
        scale: multiply every number first (100 turns shares into percentages).
        unit: ``"%"`` is written after the mean (``4.0% [3.6, 4.5]``), any other
            unit after the bracket (``8.9 [7.5, 10.4] points``).
    """
    if not _finite(mean):
        return MISSING
    text = number(scale * mean, digits, signed=signed) + ("%" if unit == "%" else "")
    if _finite(low) and _finite(high):
        text += f" [{number(scale * low, digits, signed=signed)}, {number(scale * high, digits, signed=signed)}]"
    return text + ("" if unit == "%" else unit)


def shown(value: Interval, digits: int = 1, *, signed: bool = False, scale: float = 1.0, unit: str = "") -> str:
    """An ``Interval`` as ``interval`` writes it."""
    return interval(value.mean, value.low, value.high, digits, signed=signed, scale=scale, unit=unit)


def percent(share: float, digits: int = 1, *, signed: bool = False) -> str:
    """A share of 1 as a percentage: ``percent(0.125)`` is ``"12.5%"`` (``-`` when missing)."""
    if not _finite(share):
        return MISSING
    return number(100.0 * share, digits, signed=signed) + "%"


def share_interval(value: Interval, digits: int = 1) -> str:
    """A share of 1 and its interval as percentages: ``"4.0% [3.6, 4.5]"``."""
    return shown(value, digits, scale=100.0, unit="%")


def significant(value: float, digits: int = 3) -> str:
    """A number to ``digits`` significant digits (``0.0478``, ``1.89``; ``-`` when missing): a fitted parameter."""
    return f"{value:.{digits}g}" if _finite(value) else MISSING


def count_of(n: int, noun: str) -> str:
    """``"1 replication"``, ``"3 replications"``: a count and its noun, plural when it is not one."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def plain(value: object) -> str:
    """A number as a person writes it in a field value: ``24``, ``0.05``, ``1e+06`` (``:g``); other values as text."""
    if hasattr(value, "item"):
        value = value.item()
    return f"{value:g}" if isinstance(value, float) else str(value)


def money(value: float) -> str:
    """A currency amount, short: 950, 12k, 1.5M (``-`` when missing)."""
    if not _finite(value):
        return MISSING
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


_SPEC = re.compile(r"^(?P<mean>mean)?(?P<signed>\+)?(?P<percent>%)?(?P<digits>\d+)?$")


class _Formatted:
    """An interval that formats itself by a ``render`` spec."""

    def __init__(self, value: Interval) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"unknown spec {spec!r}: use [mean][+][%][digits], e.g. '%1' or 'mean0'")
        percent_ = bool(match["percent"])
        digits = int(match["digits"]) if match["digits"] else (1 if percent_ else 2)
        signed = bool(match["signed"])
        if match["mean"]:
            return (
                percent(self.value.mean, digits, signed=signed)
                if percent_
                else number(self.value.mean, digits, signed=signed)
            )
        if percent_:
            return shown(self.value, digits, signed=signed, scale=100.0, unit="%")
        return shown(self.value, digits, signed=signed)


def render(template: str, measures: Mapping[str, Interval]) -> str:
    """A sentence with measured intervals in it.

    Each ``{name:spec}`` field is the interval ``measures[name]``, written by
    its spec: ``{ratio}`` the interval with 2 decimals, ``{gain:1}`` with 1,
    ``{share:%}`` a share as a percentage interval, ``{change:+1}`` signed,
    ``{count:mean0}`` the mean alone, ``{rate:mean%1}`` the mean alone as a
    percentage.
    """
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = sorted(fields - set(measures))
    if missing:
        raise KeyError(f"the template names unknown measures: {', '.join(missing)}")
    return template.format_map({name: _Formatted(measures[name]) for name in fields})
