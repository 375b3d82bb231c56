"""What lets one equation serve both an array of customers and the engine's compiled kernel.

``jitable`` marks an equation as callable from compiled code: Python and
NumPy callers get the function itself, unchanged; compiled callers get its
formula compiled for their argument types (one customer's scalars, as a
rule), without the NumPy warning settings around it, which compiled code
never raises. ``select`` is ``np.where`` on arrays and the plain conditional
on scalars inside compiled code, so an equation written with it reads the
same and gives the same numbers either way.

Compiled callers pass every argument by position or by name, so the
equations take no keyword-only arguments.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
from numba import types
from numba.extending import overload


def jitable(function):
    """Let compiled code call ``function``; returns ``function`` itself."""
    formula = inspect.unwrap(function)

    @functools.wraps(formula)
    def compiled(*args, **kwargs):
        return formula

    overload(function, strict=False, inline="always")(compiled)
    return function


def select(condition, if_true, if_false):
    """``if_true`` where ``condition`` holds, else ``if_false``, elementwise (``np.where``)."""
    return np.where(condition, if_true, if_false)


@overload(select)
def _select_scalar(condition, if_true, if_false):
    if isinstance(condition, types.Boolean):

        def pick(condition, if_true, if_false):
            return if_true if condition else if_false

        return pick
    return None
