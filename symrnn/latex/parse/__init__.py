"""Reading the lecture's LaTeX back into symrnn's own SymPy objects: the only package that calls a LaTeX parser.

symrnn's grammar reads the notation itself (relations, ``P(A, B | C)``, ``\\vec{h}_t``, comma subscripts,
``bmatrix``/``cases``/``array``, ``\\sum_i``/``\\max_i``/``\\prod``, ``d`` versus ``\\partial``, gradients,
``\\odot``/``\\oslash``, matrix powers, the LSTM's gates, function application), so the result is built from
:mod:`symrnn.notation` and compares structurally with what the derivations hold.  Every plain-arithmetic piece
(``t-1``, ``V+1``, ``\\frac{1}{10}``) is also handed to a latex2sympy backend as an independent second reading; the
two must agree or the parse fails naming both (:class:`BackendError`).

Guard rails: a length cap, a nesting cap, balanced brackets and environments, known macros only (ASCII digits only),
the whole input consumed, number literals and the numbers powers, products and sums could produce capped before
anything is computed (:mod:`.magnitude`), a cap on the depth of the expression built, and a deadline checked in the
tokeniser and parser loops, with the backend's long pieces run in a worker that is stopped at that deadline.  Every
failure is a :class:`ParseError` that names the position.  Nothing the user writes is executed: there is no
``eval``/``exec``/``sympify``/``parse_expr`` here, and names are checked against ``[A-Za-z]+`` before they become
symbols (before code generation, :func:`symrnn.numeric.guard.check_lambdifiable` vets an expression's names).

Readings that are conventions, not LaTeX (the lecture's, stated in its design notes): ``\\log`` is the natural
logarithm; an unparenthesised ``\\ln``, ``\\exp``, ``\\sum``, ``\\prod`` or ``\\max`` takes the rest of the product
(``\\ln U\\vec{h}_{t-1}`` is ``ln(U h_{t-1})``); a function of a vector acts entrywise (``\\exp``, ``\\ln``,
``\\tanh``, ``\\sigma``) or is a named vector function (``g``, ``\\operatorname{softmax}``); a decimal such as
``0.28`` is a value shown to two places (:class:`symrnn.notation.Rounded`).

Modules: :mod:`.errors` (the ParseError family), :mod:`.tokens` (tokeniser, limits, deadline), :mod:`.sizes`
(:class:`Sizes`, :func:`notation_of`), :mod:`.backends`, :mod:`.core` and the grammar by construct
(:mod:`.relations`, :mod:`.arithmetic`, :mod:`.scripts`, :mod:`.primaries`, :mod:`.functions`, :mod:`.calculus`,
:mod:`.matrices`), :mod:`.magnitude` (digit estimates), :mod:`.parser` (the assembled parser, :func:`parse`),
:mod:`.compare` (:func:`canonical`, :func:`same`), :mod:`.fuzzing` (mutated lecture spans, for the fuzz tests).
"""

from __future__ import annotations

from symrnn.latex.parse.backends import BACKENDS, Backend, available_backends, load_backend
from symrnn.latex.parse.compare import canonical, same
from symrnn.latex.parse.core import Decimal
from symrnn.latex.parse.errors import (
    BackendError,
    DivisionByZero,
    EmptyInput,
    ParseError,
    RefusedName,
    ShapeMismatch,
    Timeout,
    TooDeep,
    TooLarge,
    TooLong,
    Unbalanced,
    Unexpected,
    UnknownMacro,
)
from symrnn.latex.parse.parser import Parsed, parse, parse_math
from symrnn.latex.parse.sizes import DEFAULT_SIZES, Sizes, notation_of
from symrnn.latex.parse.tokens import DEFAULT_LIMITS, PRINTABLE_DIGITS, Limits, Token, tokenize

__all__ = ["BACKENDS", "DEFAULT_LIMITS", "DEFAULT_SIZES", "PRINTABLE_DIGITS", "Backend", "BackendError", "Decimal",
           "DivisionByZero", "EmptyInput", "Limits", "ParseError", "Parsed", "RefusedName", "ShapeMismatch", "Sizes",
           "Timeout", "TooDeep", "TooLarge", "TooLong", "Token", "Unbalanced", "Unexpected", "UnknownMacro",
           "available_backends", "canonical", "load_backend", "notation_of", "parse", "parse_math", "same", "tokenize"]
