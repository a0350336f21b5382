"""Probability notation: random variables, events, ``P(...)``, sums and maxima over states."""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings, so no text is ever parsed here

from symrnn.notation.symbols import _name, check_name

# ---- probability notation ------------------------------------------------------------------------------------------


class RV(sp.Expr):
    """A random variable of the lecture, ``Y_t`` or ``X_t``, at a (possibly symbolic) time."""

    def __new__(cls, name: str, time):
        name = check_name(_name(name))
        return super().__new__(cls, sp.Symbol(name), _sympify(time))

    name = property(lambda self: self.args[0].name)
    time = property(lambda self: self.args[1])


class Is(sp.Expr):
    """The event ``Y_t = j``: a random variable taking a (1-based) value."""

    def __new__(cls, rv: RV, value):
        return super().__new__(cls, rv, _sympify(value))

    rv = property(lambda self: self.args[0])
    value = property(lambda self: self.args[1])


class Dots(sp.Expr):
    """``\\dots`` leading a probability's argument list: every earlier observation, earlier states eliminated."""

    def __new__(cls):
        return super().__new__(cls)


class Span(sp.Expr):
    """``Y_1, X_1, \\dots, Y_T, X_T``: every state and observation from ``start`` to ``stop``.

    With ``states=False`` only the observations: ``X_1, \\dots, X_T``.
    """

    def __new__(cls, start, stop, states: bool = True):
        return super().__new__(cls, _sympify(start), _sympify(stop), sp.true if states else sp.false)

    start = property(lambda self: self.args[0])
    stop = property(lambda self: self.args[1])
    states = property(lambda self: bool(self.args[2]))


class P(sp.Expr):
    """``P(events | given)``. A bare ``RV`` among the events means its observed (X) or assigned (Y) value."""

    is_commutative = True

    def __new__(cls, events: Iterable, given: Iterable = ()):
        return super().__new__(cls, sp.Tuple(*events), sp.Tuple(*given))

    events = property(lambda self: tuple(self.args[0]))
    given = property(lambda self: tuple(self.args[1]))


def Y(time) -> RV:  # noqa: N802 - the lecture's name
    return RV("Y", time)


def X(time) -> RV:  # noqa: N802 - the lecture's name
    return RV("X", time)


class StateSum(sp.Expr):
    """``\\sum_i expr``: a sum over every state value of ``i`` (1..N), printed without bounds as in the lecture."""

    is_commutative = True

    def __new__(cls, expr, index: sp.Symbol):
        return super().__new__(cls, _sympify(expr), index)

    expr = property(lambda self: self.args[0])
    index = property(lambda self: self.args[1])


class StateMax(StateSum):
    """``\\max_i expr``: the largest value over every state value of ``i``."""


class OneIf(sp.Expr):
    """``1 \\text{ if } X_t = \\text{ball}``: an entry of the lecture's one-hot definition of ``\\vec{x}_t``."""

    is_commutative = True

    def __new__(cls, event: Is):
        return super().__new__(cls, event)

    event = property(lambda self: self.args[0])
