"""Reading the lecture's LaTeX back into symrnn's own SymPy objects: the only module that calls a LaTeX parser.

symrnn's grammar reads the notation itself (relations, ``P(A, B | C)``, ``\\vec{h}_t``, comma subscripts,
``bmatrix``/``cases``/``array``, ``\\sum_i``/``\\max_i``/``\\prod``, ``d`` versus ``\\partial``, gradients,
``\\odot``/``\\oslash``, matrix powers, the LSTM's gates, function application), so
the result is built from :mod:`symrnn.notation` and compares structurally with what the derivations hold.  Every
plain-arithmetic piece (``t-1``, ``V+1``, ``\\frac{1}{10}``) is also handed to a latex2sympy backend as an
independent second reading; the two must agree or the parse fails naming both (:class:`BackendError`).  The
preferred backend is the maintained ``latex2sympy2_extended``; ``latex2sympy2`` 1.9.1 is used where it is the one
installed; ``backend="none"`` reads without a second opinion.

Guard rails: a length cap, a nesting cap, balanced brackets and environments, known macros only, the whole input
consumed, and a deadline checked in the tokeniser and parser loops.  Every failure is a :class:`ParseError` that
names the position.  Nothing the user writes is executed: there is no ``eval``/``exec``/``sympify``/``parse_expr``
here, names are checked against ``[A-Za-z]+`` before they become symbols, and :func:`check_lambdifiable` vets an
expression's names before any code generation.

Readings that are conventions, not LaTeX (the lecture's, stated in its design notes):
``\\log`` is the natural logarithm; an unparenthesised ``\\ln``, ``\\exp``, ``\\sum``, ``\\prod`` or ``\\max`` takes
the rest of the product (``\\ln U\\vec{h}_{t-1}`` is ``ln(U h_{t-1})``); a function of a vector acts entrywise
(``\\exp``, ``\\ln``, ``\\tanh``, ``\\sigma``) or is a named vector function (``g``, ``\\operatorname{softmax}``);
a decimal such as ``0.28`` is a value shown to two places (:class:`symrnn.notation.Rounded`).
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational
from sympy.core.sympify import _sympify  # strict: refuses strings
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.ops import Ratio, sigmoid

# ---- errors --------------------------------------------------------------------------------------------------------


class ParseError(ValueError):
    """A LaTeX input that cannot be read; ``pos`` is the 0-based character offset of the problem."""

    def __init__(self, reason: str, pos: int, text: str = ""):
        self.reason, self.pos, self.text = reason, pos, text
        excerpt = ""
        if text:
            lo = max(0, pos - 30)
            snippet = text[lo:pos + 30].replace("\n", " ")
            excerpt = f": ...{snippet}..." if len(text) > 60 else f": {snippet}"
        super().__init__(f"{reason} at position {pos}{excerpt}")


class EmptyInput(ParseError):
    """Nothing to read."""


class TooLong(ParseError):
    """The input exceeds :attr:`Limits.max_chars`."""


class TooDeep(ParseError):
    """Brackets or environments nest deeper than :attr:`Limits.max_depth`."""


class Timeout(ParseError):
    """Reading took longer than :attr:`Limits.seconds`."""


class Unbalanced(ParseError):
    """A bracket, ``\\left``/``\\right`` or ``\\begin``/``\\end`` without its partner."""


class UnknownMacro(ParseError):
    """A command, environment or character outside the lecture's notation."""


class RefusedName(ParseError):
    """A name in ``\\operatorname``/``\\mathrm``/``\\text`` that is not a plain word."""


class Unexpected(ParseError):
    """A token where the grammar expects something else (including text left over after a complete input)."""


class ShapeMismatch(ParseError):
    """Matrices whose sizes do not fit (a ragged ``bmatrix``, a product or sum of incompatible shapes)."""


class BackendError(ParseError):
    """The latex2sympy backend failed on, or disagreed with symrnn about, a plain-arithmetic piece."""


# ---- settings ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Guard rails: input length, nesting depth, and a time budget for one parse."""

    max_chars: int = 20_000
    max_depth: int = 40
    seconds: float = 1.0


def _default_vectors() -> dict[str, sp.Expr]:
    return {"x": nt.V + 1}


def _default_matrices() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    return {"W": (nt.N, nt.V + 1)}


@dataclass(frozen=True)
class Notation:
    """Sizes that the LaTeX does not show: a vector's length and a matrix's shape, by name.

    Vectors default to N entries (``\\vec{x}`` to V+1); matrices to N x N (``W`` and ``W_f``-style names to
    N x (V+1)).  Keys are names as written (``"U_f"``) or their base letter (``"W"``); a lower-case name such as
    ``"b_ii"`` is a matrix (a bias column) only when listed.  ``gates`` names the vectors written without an
    arrow (the LSTM's ``f_t``, ``i_t``, ``o_t``) with their length; none by default, so ``f_t`` is a scalar.
    """

    vectors: Mapping[str, Any] = field(default_factory=_default_vectors)
    matrices: Mapping[str, tuple[Any, Any]] = field(default_factory=_default_matrices)
    default_size: Any = nt.N
    gates: Mapping[str, Any] = field(default_factory=dict)

    def vector_size(self, name: str) -> sp.Expr:
        return _sympify(self.vectors.get(name, self.default_size))

    def matrix_shape(self, name: str) -> tuple[sp.Expr, sp.Expr]:
        base = name.split("_")[0]
        shape = self.matrices.get(name, self.matrices.get(base, (self.default_size, self.default_size)))
        return _sympify(shape[0]), _sympify(shape[1])


DEFAULT_LIMITS = Limits()
DEFAULT_NOTATION = Notation()


def notation_of(expr, strict: bool = True) -> Notation:
    """The sizes an expression itself gives its vectors, gates and matrices, over the defaults.

    A round trip reads an emitted equation with the sizes of the object it was printed from, since LaTeX does not
    show them.  A name with two sizes in one expression is a ValueError (``strict``) or keeps its first size.
    """
    vectors: dict[str, Any] = {}
    matrices: dict[str, tuple[Any, Any]] = {}
    gates: dict[str, Any] = {}

    def record(table: dict, name: str, size) -> None:
        if table.setdefault(name, size) != size and strict:
            raise ValueError(f"{name} has two sizes in one expression: {table[name]} and {size}")

    items = expr if isinstance(expr, tuple) else (expr,)
    for item in items:
        if not isinstance(item, sp.Basic):
            continue
        for node in sp.preorder_traversal(item):
            if isinstance(node, nt.Gate):
                record(gates, node.base, node.shape[0])
            elif isinstance(node, nt.Vec):
                record(vectors, node.base, node.shape[0])
            elif isinstance(node, sp.MatrixSymbol):
                name = str(node.name)
                if name in nt.VECTORS and node.shape[1] == 1:
                    record(vectors, name, node.shape[0])
                else:
                    record(matrices, name, tuple(node.shape))
    base = DEFAULT_NOTATION
    return Notation({**base.vectors, **vectors}, {**base.matrices, **matrices}, base.default_size, gates)

# ---- backends ------------------------------------------------------------------------------------------------------

#: Backends in order of preference (see docs/parsing.md for the measurements behind the order).
BACKENDS = ("latex2sympy2_extended", "latex2sympy2")


@dataclass(frozen=True)
class Backend:
    """A latex2sympy backend: its module name and a function from LaTeX text to a SymPy object."""

    name: str
    call: Callable[[str], Any]


def available_backends() -> list[str]:
    """The installed backends, preferred first."""
    out = []
    for name in BACKENDS:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any import failure means "not usable here"
            continue
        out.append(name)
    return out


def load_backend(name: str = "auto") -> Backend | None:
    """The named backend (``"auto"``: the first installed of :data:`BACKENDS`; ``"none"``: no backend)."""
    if name == "none":
        return None
    names = available_backends() if name == "auto" else [name]
    if name not in ("auto", *BACKENDS):
        raise ValueError(f"unknown backend {name!r}: use one of auto, none, {', '.join(BACKENDS)}")
    for candidate in names:
        try:
            module = importlib.import_module(candidate)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"backend {candidate} is not installed: {exc}") from exc
        if candidate == "latex2sympy2_extended":
            fn = module.latex2sympy

            def call(text: str, _fn=fn):
                return _fn(text, normalization_config=None)
        else:
            fn = module.latex2sympy

            def call(text: str, _fn=fn):
                return _fn(text, variable_values={})  # resets the module's variable table on every call
        return Backend(candidate, call)
    return None


# ---- tokens --------------------------------------------------------------------------------------------------------

_GREEK = frozenset("""alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
    pi rho varrho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi
    Omega""".split())
_FUNCTIONS = {"exp": sp.exp, "ln": sp.log, "log": sp.log, "tanh": sp.tanh, "sigma": sigmoid}
_RELATIONS = {"=": "=", "approx": "approx", "leftarrow": "leftarrow", "neq": "neq", "ne": "neq", "<": "<",
              ">": ">", "leq": "leq", "le": "leq", "geq": "geq", "ge": "geq"}
_TEXT_COMMANDS = frozenset({"text", "operatorname", "mathrm", "mathfrak", "mathbf", "mathit", "textrm"})
_ACCENTS = frozenset({"hat", "bar", "tilde"})
_SPACING = frozenset({",", ";", "!", " ", ":", "quad", "qquad", "displaystyle"})
_KNOWN = frozenset({"frac", "vec", "sum", "prod", "max", "left", "right", "begin", "end", "dots", "ldots", "cdots",
                    "vdots", "ddots", "cdot", "times", "odot", "oslash", "circ", "partial", "infty", "exp", "ln",
                    "log", "tanh", "rightarrow",
                    *_RELATIONS, *_GREEK, *_TEXT_COMMANDS, *_ACCENTS})
_ENVIRONMENTS = frozenset({"bmatrix", "cases", "array"})
_WORD = re.compile(r"^[A-Za-z]+$")
_TEXT = re.compile(r"^[A-Za-z0-9 .,;:'()+\-/=]*$")  # nt.Words' characters; outside a table only a word is read
_COLUMNS = re.compile(r"^[lcr]{1,20}$")
_SYMBOLS = set("+-=<>,|()[]{}^_&'/*;")
_OPEN = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, letter, cmd, text, sym, rowsep, begin, end, eof
    value: str
    pos: int
    end: int
    arg: str = ""  # the braced argument of a text command or environment
    glued: bool = False  # no white space before this token
    spec: str = ""  # an array's column specification (``ll``)


def _deadline_check(deadline: float, pos: int, text: str) -> None:
    if time.perf_counter() > deadline:
        raise Timeout("time limit reached", pos, text)


def tokenize(text: str, limits: Limits = DEFAULT_LIMITS, deadline: float | None = None) -> list[Token]:
    """Split LaTeX into tokens with positions, checking brackets, nesting, macros and names as it goes."""
    if not isinstance(text, str):
        raise TypeError(f"expected LaTeX text (str), got {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise TooLong(f"input of {len(text)} characters exceeds the limit of {limits.max_chars}", limits.max_chars)
    deadline = time.perf_counter() + limits.seconds if deadline is None else deadline
    tokens: list[Token] = []
    stack: list[tuple[str, int]] = []
    n, p, glued = len(text), 0, False
    while p < n:
        if len(tokens) % 64 == 0:
            _deadline_check(deadline, p, text)
        c = text[p]
        if c.isspace() or c == "~":
            p, glued = p + 1, False
            continue
        start = p
        if c == "\\":
            if p + 1 < n and text[p + 1] == "\\":
                tokens.append(Token("rowsep", "\\\\", p, p + 2, glued=glued))
                p, glued = p + 2, True
                continue
            m = re.match(r"[A-Za-z]+", text[p + 1:p + 40])
            if not m:
                ch = text[p + 1:p + 2]
                if ch in _SPACING:
                    p, glued = p + 2, False
                    continue
                raise UnknownMacro(f"unknown command \\{ch}", p, text)
            name = m.group(0)
            p += 1 + len(name)
            if name in _SPACING:
                glued = False
                continue
            if name not in _KNOWN:
                raise UnknownMacro(f"unknown command \\{name}", start, text)
            if name in _TEXT_COMMANDS or name in _ACCENTS or name in ("begin", "end"):
                q = p
                while q < n and text[q] == " ":
                    q += 1
                if q >= n or text[q] != "{":
                    raise Unexpected(f"\\{name} needs a braced argument", q, text)
                close = text.find("}", q)
                if close < 0:
                    raise Unbalanced(f"\\{name}{{ is never closed", q, text)
                arg = text[q + 1:close]
                if "{" in arg or "\\" in arg:
                    raise RefusedName(f"\\{name}{{...}} may hold only letters, digits and spaces", q + 1, text)
                p = close + 1
                spec = ""
                if name in ("begin", "end"):
                    if arg not in _ENVIRONMENTS:
                        raise UnknownMacro(f"unknown environment {arg!r}", q + 1, text)
                    if name == "begin" and arg == "array":
                        close = text.find("}", p) if text.startswith("{", p) else -1
                        spec = text[p + 1:close] if close > 0 else ""
                        if not _COLUMNS.match(spec):
                            raise Unexpected("\\begin{array} needs its columns, such as {ll}", p, text)
                        p = close + 1
                    if name == "begin":
                        stack.append((arg, start))
                    else:
                        if not stack or stack[-1][0] != arg:
                            raise Unbalanced(f"\\end{{{arg}}} without its \\begin", start, text)
                        stack.pop()
                elif name in ("text", "textrm"):
                    if not _TEXT.match(arg):
                        raise RefusedName(f"\\text{{{arg}}}: only letters, digits, spaces and . , ; : ' ( ) + - / =",
                                          q + 1, text)
                    name = "text"
                elif not (_WORD.match(arg.strip()) or (name == "mathbf" and arg.strip() == "1")):
                    raise RefusedName(f"\\{name}{{{arg}}}: a name must be letters only", q + 1, text)
                else:
                    arg = arg.strip()
                kind = name if name in ("begin", "end") else "text"
                tokens.append(Token(kind, name, start, p, arg, glued, spec=spec))
                glued = True
                if len(stack) > limits.max_depth:
                    raise TooDeep(f"nesting deeper than {limits.max_depth}", start, text)
                continue
            if name == "left" or name == "right":
                q = p
                while q < n and text[q] == " ":
                    q += 1
                delim = text[q:q + 1]
                if delim not in ("(", ")", "[", "]", ".", "|"):
                    raise Unexpected(f"\\{name} needs a delimiter", q, text)
                p = q + 1
                if name == "left":
                    stack.append(("left", start))
                else:
                    if not stack or stack[-1][0] != "left":
                        raise Unbalanced("\\right without its \\left", start, text)
                    stack.pop()
                tokens.append(Token("cmd", name, start, p, delim, glued))
            else:
                tokens.append(Token("cmd", name, start, p, "", glued))
        elif c.isdigit() or (c == "." and p + 1 < n and text[p + 1].isdigit()):
            m = re.match(r"\d*(?:\.\d+)?", text[p:p + 200])
            lit = m.group(0)
            if len(lit) >= 200:
                raise TooLong("number literal of 200 or more digits", p, text)
            p += len(lit)
            tokens.append(Token("num", lit, start, p, glued=glued))
        elif c == "." and text.startswith("...", p):
            p += 3
            tokens.append(Token("cmd", "dots", start, p, glued=glued))
        elif c.isascii() and c.isalpha():
            p += 1
            tokens.append(Token("letter", c, start, p, glued=glued))
        elif c in _SYMBOLS:
            p += 1
            if c in _OPEN:
                stack.append((c, start))
            elif c in (")", "]", "}"):
                want = {")": "(", "]": "[", "}": "{"}[c]
                if not stack or stack[-1][0] != want:
                    raise Unbalanced(f"unmatched {c!r}", start, text)
                stack.pop()
            tokens.append(Token("sym", c, start, p, glued=glued))
        else:
            raise UnknownMacro(f"unexpected character {c!r}", p, text)
        glued = True
        if len(stack) > limits.max_depth:
            raise TooDeep(f"nesting deeper than {limits.max_depth}", start, text)
    if stack:
        what, where = stack[-1]
        shown = {"left": "\\left", "(": "'('", "[": "'['", "{": "'{'"}.get(what, f"\\begin{{{what}}}")
        raise Unbalanced(f"{shown} is never closed", where, text)
    tokens.append(Token("eof", "", n, n))
    return tokens


# ---- results -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decimal:
    """A decimal number as written: position, text, exact value and digits after the point."""

    pos: int
    text: str
    value: sp.Rational
    places: int


@dataclass(frozen=True)
class Parsed:
    """What :func:`parse_math` found: the expression, the decimals it showed, and the backend consulted."""

    expr: Any
    decimals: tuple[Decimal, ...]
    backend: str | None
    second_readings: int


# ---- the parser ----------------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens; one instance per input (no state survives a parse)."""

    def __init__(self, text: str, notation: Notation, limits: Limits, backend: Backend | None):
        self.text, self.notation, self.limits, self.backend = text, notation, limits, backend
        self.deadline = time.perf_counter() + limits.seconds
        self.toks = tokenize(text, limits, self.deadline)
        self.i = 0
        self.depth = 0
        self.decimals: list[Decimal] = []
        self.readings: dict[str, Any] = {}
        self.in_table = 0  # inside an array's cell, \text{...} is a cell's words, not a factor

    # -- token helpers --
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> Token:
        tok = self.peek()
        self.i = min(self.i + 1, len(self.toks) - 1)
        if self.i % 32 == 0:
            _deadline_check(self.deadline, tok.pos, self.text)
        return tok

    def at(self, kind: str, value: str | None = None, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == kind and (value is None or tok.value == value)

    def at_sym(self, *values: str) -> bool:
        tok = self.peek()
        return tok.kind == "sym" and tok.value in values

    def expect_sym(self, value: str, what: str = "") -> Token:
        tok = self.peek()
        if tok.kind != "sym" or tok.value != value:
            raise self.error(f"expected {value!r}{' ' + what if what else ''}, found {self.describe(tok)}", tok)
        return self.take()

    def describe(self, tok: Token) -> str:
        if tok.kind == "eof":
            return "the end of the input"
        return repr(self.text[tok.pos:tok.end])

    def error(self, reason: str, tok: Token | None = None, cls: type[ParseError] = Unexpected) -> ParseError:
        return cls(reason, (tok or self.peek()).pos, self.text)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > 6 * self.limits.max_depth:
            raise self.error(f"expression nests deeper than {self.limits.max_depth}", cls=TooDeep)
        _deadline_check(self.deadline, self.peek().pos, self.text)

    # -- entry --
    def document(self):
        if self.peek().kind == "eof":
            raise EmptyInput("empty input: nothing to read", 0, self.text)
        items = [self.relation()]
        while self.at_sym(","):
            self.take()
            items.append(self.relation())
        if self.peek().kind != "eof":
            raise self.error(f"unexpected {self.describe(self.peek())} (the rest of the input was not read)")
        return items[0] if len(items) == 1 else tuple(items)

    # -- relations --
    def relop(self) -> str | None:
        tok = self.peek()
        if tok.kind == "sym" and tok.value in ("=", "<", ">"):
            return tok.value
        if tok.kind == "cmd" and tok.value in _RELATIONS:
            return _RELATIONS[tok.value]
        return None

    def relation(self):
        terms, ops, toks = [self.expr()], [], []
        while (op := self.relop()) is not None:
            toks.append(self.take())
            if self.peek().kind == "eof" or self.at_sym(",") or self.relop():
                raise self.error(f"the relation {self.text[toks[-1].pos:toks[-1].end]} has no right side")
            ops.append(op)
            terms.append(self.expr())
        if not ops:
            return terms[0]
        if len(ops) > 1 and all(o in ("=", "approx") for o in ops):
            return nt.Chain(terms, ops)
        rels = [self.make_relation(op, a, b, tok) for op, a, b, tok in zip(ops, terms, terms[1:], toks, strict=False)]
        return rels[0] if len(rels) == 1 else sp.And(*rels, evaluate=False)

    def make_relation(self, op: str, a, b, tok: Token):
        if op == "=":
            return sp.Eq(a, b, evaluate=False)
        if op == "approx":
            return nt.Approx(a, b)
        if op == "leftarrow":
            return nt.Assign(a, b)
        cls = {"neq": sp.Ne, "<": sp.Lt, ">": sp.Gt, "leq": sp.Le, "geq": sp.Ge}[op]
        try:
            return cls(a, b, evaluate=False)
        except TypeError as exc:
            raise self.error(f"cannot compare these sides: {exc}", tok) from None

    # -- sums --
    def expr(self):
        self.enter()
        try:
            start = self.peek()
            terms: list[Any] = []
            sign = 1
            if self.at_sym("+", "-"):
                sign = -1 if self.take().value == "-" else 1
            if not self.starts_factor():
                raise self.error(f"expected an expression, found {self.describe(self.peek())}")
            terms.append(self.negate(self.term()) if sign < 0 else self.term())
            while self.at_sym("+", "-"):
                op = self.take()
                if not self.starts_factor():
                    raise self.error(f"expected a term after {op.value!r}, found {self.describe(self.peek())}")
                value = self.term()
                terms.append(self.negate(value) if op.value == "-" else value)
            return self.combine_sum(terms, start)
        finally:
            self.depth -= 1

    def negate(self, value):
        if isinstance(value, MatrixExpr):
            return -value
        if isinstance(value, nt.Rounded):
            return nt.Rounded(-value.value, value.places)
        if value.is_Number:
            return -value
        return sp.Mul(sp.S.NegativeOne, value, evaluate=False)

    def combine_sum(self, terms: list, start: Token):
        if len(terms) == 1:
            return terms[0]
        if any(_summed_matrix(t_) for t_ in terms):  # \sum_{\tau=1}^{t} W\vec{x}_\tau + \vec{h}_0: kept as written
            shapes = [(t_.function if _summed_matrix(t_) else t_).shape for t_ in terms
                      if _summed_matrix(t_) or isinstance(t_, MatrixExpr)]
            if len(shapes) != len(terms) or any(_fits(a, shapes[0]) is False for a in shapes[1:]):
                raise self.error("a sum of matrices with a term of another shape", start, ShapeMismatch)
            return sp.Add(*terms, evaluate=False)
        mats = [t_ for t_ in terms if isinstance(t_, MatrixExpr)]
        if not mats:
            return sp.Add(*terms, evaluate=False)
        shape = mats[0].shape
        unproven = False
        for m in mats[1:]:
            fit = _fits(m.shape, shape)
            if fit is False:
                raise self.error(f"cannot add matrices of shapes {_shape(shape)} and {_shape(m.shape)}", start,
                                 ShapeMismatch)
            unproven |= fit is None
        scalars = [t_ for t_ in terms if not isinstance(t_, MatrixExpr)]
        if scalars:  # the lecture's \vec{\xi} - 1: a number added to every entry of a vector
            if shape[1] != 1:
                raise self.error("a number added to a matrix: only a vector can be shifted", start, ShapeMismatch)
            shift = scalars[0] if len(scalars) == 1 else sp.Add(*scalars)
            vector = mats[0] if len(mats) == 1 else self.combine_sum(mats, start)
            return nt.VecShift(vector, shift)
        mats = [m.xreplace({sp.OneMatrix(nt.N, 1): sp.OneMatrix(*shape)}) if shape[1] == 1 else m for m in mats]
        if unproven or any(_explicit(m) for m in mats):
            return sp.MatAdd(*mats)  # sizes such as N and V + 1 may be equal: the audit reports the condition
        out = mats[0]
        for m in mats[1:]:
            out = out + m
        return out

    # -- products --
    def starts_factor(self) -> bool:
        tok = self.peek()
        if tok.kind in ("num", "letter", "begin"):
            return True
        if tok.kind == "text":
            return tok.value != "text" or (not self.in_table and tok.arg.strip() not in ("if", "otherwise"))
        if tok.kind == "sym":
            return tok.value == "("
        if tok.kind == "cmd":
            return tok.value not in ("right", "cdot", "times", "odot", "oslash", "circ", "vdots", "cdots", "ddots",
                                     "rightarrow", *_RELATIONS) or (tok.value == "cdot" and self.at_sym_ahead(1, ")"))
        return False

    def at_sym_ahead(self, ahead: int, value: str) -> bool:
        tok = self.peek(ahead)
        return (tok.kind == "sym" and tok.value == value) or (tok.kind == "cmd" and tok.value == "right")

    def term(self):
        self.enter()
        try:
            start = self.peek()
            segments: list[list[Any]] = [[self.factor()]]
            ops: list[Token] = []
            while True:
                if self.at("cmd", "cdot") or self.at("cmd", "times"):
                    self.take()
                    segments[-1].append(self.factor())
                elif self.at("cmd", "odot") or self.at("cmd", "oslash"):
                    ops.append(self.take())
                    segments.append([self.factor()])
                elif self.at_sym("/"):
                    op = self.take()
                    value = self.factor()
                    if isinstance(value, MatrixExpr):
                        raise self.error("division by a matrix", op, ShapeMismatch)
                    segments[-1].append(sp.Pow(value, -1))
                elif self.starts_factor():
                    segments[-1].append(self.factor())
                else:
                    break
            values = [self.product(seg, start) for seg in segments]
            if len(values) == 1:
                return values[0]
            for v in values:
                if not isinstance(v, MatrixExpr):
                    raise self.error("\\odot joins matrices or vectors", start, ShapeMismatch)
            for v in values[1:]:
                if _fits(v.shape, values[0].shape) is False:
                    raise self.error(f"\\odot of shapes {_shape(values[0].shape)} and {_shape(v.shape)}", start,
                                     ShapeMismatch)
            run = [values[0]]  # left to right: a \odot b \oslash c is (a \odot b) \oslash c
            for op, v in zip(ops, values[1:], strict=True):
                if op.value == "odot":
                    run.append(v)
                else:
                    run = [Ratio(run[0] if len(run) == 1 else nt.hadamard(*run), v)]
            return run[0] if len(run) == 1 else nt.hadamard(*run)
        finally:
            self.depth -= 1

    def product(self, factors: list, start: Token):
        merged: list[Any] = []
        for f in factors:  # a scalar written right before an explicit matrix is its factor: \frac{1}{10}[...]
            if merged and isinstance(f, sp.ImmutableMatrix) and not isinstance(merged[-1], MatrixExpr) \
                    and not isinstance(merged[-1], sp.MatrixBase):
                merged.append(nt.ScaledMatrix(merged.pop(), f))
            elif merged and isinstance(merged[-1], nt.Gate) and isinstance(f, MatrixExpr) \
                    and f.shape == merged[-1].shape:
                merged.append(nt.Juxtaposed(merged.pop(), f))  # the lecture's f_t \vec{c}_{t-1}: entrywise
            else:
                merged.append(f)
        if len(merged) == 1:
            return merged[0]
        mats = [f for f in merged if isinstance(f, MatrixExpr)]
        if not mats:
            return sp.Mul(*merged, evaluate=False)
        unproven = False
        for a, b in zip(mats, mats[1:], strict=False):
            fit = _fits((a.shape[1],), (b.shape[0],))
            if fit is False:
                raise self.error(f"cannot multiply a {_shape(a.shape)} matrix by a {_shape(b.shape)} one", start,
                                 ShapeMismatch)
            unproven |= fit is None
        if unproven or any(_explicit(m) for m in mats):
            return sp.MatMul(*merged)
        out = merged[0]
        for f in merged[1:]:
            try:
                out = out * f
            except (NotImplementedError, TypeError, ValueError) as exc:  # SymPy refuses the product's factors
                raise self.error(f"cannot multiply {type(out).__name__} by {type(f).__name__} here ({exc})", start,
                                 ShapeMismatch) from None
        return out

    # -- factors --
    def factor(self):
        self.enter()
        try:
            if self.at_sym("-"):
                self.take()
                return self.negate(self.factor())
            base = self.primary()
            while self.at_sym("^"):
                tok = self.take()
                if isinstance(base, MatrixExpr):
                    base = self.matrix_power(base, tok)
                else:
                    exponent = self.script()
                    base = sp.Pow(base, exponent)
            return base
        finally:
            self.depth -= 1

    def matrix_power(self, base: MatrixExpr, tok: Token) -> MatrixExpr:
        """What follows ``^`` on a matrix: ``T`` (transpose), ``(t)`` (the copy used at step t), ``\\circ 2`` (an
        entrywise power) or an exponent (a power of a square matrix)."""
        braced = self.at_sym("{")
        ahead = 1 if braced else 0
        nxt, after = self.peek(ahead), self.peek(ahead + 1)
        if nxt.kind == "letter" and nxt.value == "T" and (not braced or (after.kind == "sym" and after.value == "}")):
            self.script_tokens()
            return base.T
        if braced and nxt.kind == "sym" and nxt.value == "(":
            self.take()
            step = self.group()
            self.expect_sym("}", "after the step of U^{(t)}")
            if not isinstance(base, sp.MatrixSymbol) or isinstance(step, MatrixExpr):
                raise self.error("only a named matrix has a copy per step, U^{(t)}", tok, ShapeMismatch)
            return nt.LayerCopy(base, step)
        if nxt.kind == "cmd" and nxt.value == "circ":
            if braced:
                self.take()
            self.take()
            exponent = self.script()
            if braced:
                self.expect_sym("}", "after the entrywise power")
            if isinstance(exponent, MatrixExpr):
                raise self.error("an entrywise power needs a number", tok, ShapeMismatch)
            return sp.HadamardPower(base, exponent)
        exponent = self.script()
        if isinstance(exponent, MatrixExpr) or _fits((base.shape[0],), (base.shape[1],)) is not True:
            raise self.error(f"a power of a {_shape(base.shape)} matrix", tok, ShapeMismatch)
        return sp.MatPow(base, exponent)

    def script_tokens(self) -> list[Token]:
        if self.at_sym("{"):
            self.take()
            out = []
            while not self.at_sym("}"):
                out.append(self.take())
            self.take()
            return out
        return [self.take()]

    def script(self, index: bool = False):
        """A sub- or superscript: a braced group (a comma list in an index) or one token."""
        tok = self.peek()
        if self.at_sym("{"):
            self.take()
            start = self.i
            items = [self.index_expr() if index else self.expr()]
            while index and self.at_sym(","):
                self.take()
                items.append(self.index_expr())
            end = self.expect_sym("}", "to close the script")
            self.second_reading(start, self.i - 1, items, end)
            return items if index else items[0]
        if tok.kind == "num":
            self.take()
            value = self.number(tok)
            return [value] if index else value
        if tok.kind == "letter":
            self.take()
            value = self.letter_symbol(tok.value)
            return [value] if index else value
        if tok.kind == "cmd" and tok.value in _GREEK:
            self.take()
            value = self.greek(tok.value)
            return [value] if index else value
        raise self.error(f"expected a sub- or superscript, found {self.describe(tok)}")

    def index_expr(self):
        """An index: arithmetic in which a run of letters is one name (``Y_{query}``)."""
        if self.at("cmd", "dots") or self.at("cmd", "ldots"):
            self.take()
            return nt.Dots()
        word = []
        while self.peek().kind == "letter" and (not word or self.peek().glued):
            word.append(self.peek())
            self.i += 1
        if len(word) > 1 and not self.at_sym("_"):
            name = "".join(t_.value for t_ in word)
            value = sp.Symbol(name)
            return self.continue_index(value)
        self.i -= len(word)
        return self.expr()

    def continue_index(self, value):
        terms = [value]
        while self.at_sym("+", "-"):
            op = self.take()
            v = self.term()
            terms.append(-v if op.value == "-" else v)
        return sp.Add(*terms)

    def second_reading(self, start: int, stop: int, items: list, end: Token) -> None:
        """Hand a plain-arithmetic span to the backend and insist that it reads the same value."""
        if self.backend is None or len(items) != 1:
            return
        toks = self.toks[start:stop]
        if not toks or not _plain_arithmetic(toks):
            return
        source = self.text[toks[0].pos:toks[-1].end]
        own = items[0]
        if source not in self.readings:
            try:
                self.readings[source] = self.backend.call(source)
            except Exception as exc:  # noqa: BLE001 - the backend's own exceptions are plain Exception
                raise BackendError(f"backend {self.backend.name} cannot read {source!r}: "
                                   f"{str(exc).splitlines()[0]}", toks[0].pos, self.text) from None
            _deadline_check(self.deadline, toks[0].pos, self.text)
        other = _from_backend(self.readings[source], self, toks[0])
        if sp.expand(other - own) != 0:
            raise BackendError(f"backend {self.backend.name} reads {source!r} as {other}, symrnn as {own}",
                               toks[0].pos, self.text)

    def number(self, tok: Token):
        if "." in tok.value:
            whole, _, frac = tok.value.partition(".")
            value = sp.Rational(int(whole or "0") * 10 ** len(frac) + int(frac), 10 ** len(frac))
            self.decimals.append(Decimal(tok.pos, tok.value, value, len(frac)))
            return nt.Rounded(value, len(frac))
        return sp.Integer(int(tok.value))

    def letter_symbol(self, name: str) -> sp.Symbol:
        known = {"t": nt.t, "q": nt.q, "i": nt.i, "j": nt.j, "k": nt.k, "T": nt.T, "N": nt.N, "V": nt.V}
        return known.get(name, sp.Symbol(name))

    def greek(self, name: str) -> sp.Symbol:
        return nt.eta if name == "eta" else sp.Symbol(name)

    # -- primaries --
    def primary(self):
        tok = self.peek()
        if tok.kind == "num":
            self.take()
            return self.number(tok)
        if tok.kind == "letter":
            return self.letter()
        if tok.kind == "begin":
            return self.environment()
        if tok.kind == "text":
            return self.text_command()
        if tok.kind == "sym" and tok.value == "(":
            return self.group()
        if tok.kind == "cmd":
            return self.command()
        raise self.error(f"expected an expression, found {self.describe(tok)}")

    def group(self):
        """``(...)`` or ``\\left(...\\right)``: one expression (a comma list only as function arguments)."""
        items = self.arguments()
        if len(items) != 1:
            raise self.error("a comma list in parentheses is only allowed as function arguments")
        return items[0]

    def at_open(self) -> bool:
        return self.at_sym("(") or (self.at("cmd", "left") and self.peek().arg in "([")

    def arguments(self) -> list:
        tok = self.take()
        left = tok.kind == "cmd"
        if left and tok.arg == "[":
            closer = "]"
        else:
            closer = ")"
        items = [self.relation()]
        while self.at_sym(","):
            self.take()
            items.append(self.relation())
        end = self.peek()
        if left:
            if not (end.kind == "cmd" and end.value == "right" and end.arg == closer):
                raise self.error(f"expected \\right{closer}, found {self.describe(end)}")
        elif not (end.kind == "sym" and end.value == closer):
            raise self.error(f"expected {closer!r}, found {self.describe(end)}")
        self.take()
        return items

    def subscripts(self) -> list | None:
        if self.at_sym("_"):
            self.take()
            return self.script(index=True)
        return None

    def letter(self):
        tok = self.take()
        name = tok.value
        if name == "P" and self.at_open():
            return self.probability()
        if name == "e" and self.at_sym("^"):
            self.take()
            return sp.exp(self.script(), evaluate=False)
        if name == "e" and not self.at_sym("_"):
            return sp.E  # as SymPy prints exp(1); the lecture writes e only as the base of exp
        if name == "g" and (self.at_open() or self.at_sym("{")):
            return self.apply("g", None, tok)
        if name == "O" and self.at_open():
            return self.order()
        indices = self.subscripts()
        if name == "g" and indices is not None and self.at_open():
            return self.apply("g", indices, tok)
        return self.name(name, indices, tok)

    def name(self, name: str, indices: list | None, tok: Token, vector: bool = False):
        if vector:
            if indices is None:
                return sp.MatrixSymbol(name, self.notation.vector_size(name), 1)
            if len(indices) != 1:
                raise self.error(f"\\vec{{{name}}} takes one time index", tok)
            return nt.Vec(name, indices[0], self.notation.vector_size(name))
        if name in ("X", "Y") and indices is not None and len(indices) == 1:
            return nt.RV(name, indices[0])
        if indices is not None and len(indices) == 1 and name in self.notation.gates:
            return nt.Gate(name, indices[0], _sympify(self.notation.gates[name]))
        declared = _declared_name(name, indices)
        if declared in self.notation.matrices and not name.isupper():  # a bias column such as b_{ii}
            return sp.MatrixSymbol(declared, *self.notation.matrix_shape(declared))
        if name.isupper() and len(name) == 1 and name not in "TNVXYP":
            full = name if indices is None else f"{name}_{''.join(_index_name(ix, self, tok) for ix in indices)}"
            return sp.MatrixSymbol(full, *self.notation.matrix_shape(full))
        base = self.letter_symbol(name) if len(name) == 1 else self.greek(name)
        if indices is None:
            return base
        return sp.IndexedBase(name)[tuple(indices)]

    def command(self):
        tok = self.peek()
        name = tok.value
        if name in _GREEK:
            self.take()
            if name == "sigma" and (self.at_open() or self.at_sym("{")):
                return self.apply("sigma", None, tok)
            indices = self.subscripts()
            if name == "sigma" and indices is not None and self.at_open():
                return self.apply("sigmoid", indices, tok)
            return self.name(name, indices, tok)
        if name == "left":
            if tok.arg not in "([":
                raise self.error(f"\\left{tok.arg} is not supported here", tok)
            return self.group()
        if name in ("exp", "ln", "log", "tanh"):
            self.take()
            if self.at_sym("_"):
                indices = self.subscripts()
                return self.apply(name, indices, tok)
            if self.at_open() or (self.at_sym("{") and self.peek(1).kind == "cmd" and self.peek(1).value == "left"):
                return self.apply(name, None, tok)
            if name == "exp":
                raise self.error("\\exp needs parentheses", tok)
            return self.apply_value(name, self.term(), tok)
        if name == "frac":
            self.take()
            return self.fraction(tok)
        if name == "vec":
            self.take()
            inner = self.take_group_name(tok)
            return self.name(inner, self.subscripts(), tok, vector=True)
        if name in ("sum", "prod"):
            self.take()
            return self.big_operator(name, tok)
        if name == "max":
            self.take()
            if not self.at_sym("_"):
                raise self.error("\\max needs an index: \\max_i", tok)
            self.take()
            (index,) = self.script(index=True)
            return nt.StateMax(self.term(), index)
        if name in ("dots", "ldots"):
            self.take()
            return nt.Dots()
        if name == "cdot":
            self.take()
            return sp.Symbol(r"\cdot")
        if name == "infty":
            self.take()
            return sp.oo
        raise self.error(f"{self.describe(tok)} cannot start an expression here", tok)

    def take_group_name(self, tok: Token) -> str:
        """The name inside ``\\vec{...}``: a letter or a Greek command."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        inner = self.take()
        if inner.kind == "letter":
            name = inner.value
        elif inner.kind == "cmd" and inner.value in _GREEK:
            name = inner.value
        else:
            raise self.error("\\vec takes a letter or a Greek letter", inner)
        if braced:
            self.expect_sym("}", "after the vector's name")
        return name

    def text_command(self):
        tok = self.take()
        kind, arg = tok.value, tok.arg
        if kind == "text":
            return nt.Text(arg.strip()) if _WORD.match(arg.strip()) else self.refuse(tok)
        if kind == "mathfrak":
            return sp.Symbol(rf"\mathfrak{{{arg}}}")
        if kind == "mathbf":
            if arg == "1":
                return sp.OneMatrix(nt.N, 1)
            return self.refuse(tok)
        if kind in _ACCENTS:
            if not re.fullmatch(r"[A-Za-z]", arg):
                return self.refuse(tok)
            return sp.Symbol(rf"\{kind}{{{arg}}}")
        if kind in ("operatorname", "mathrm", "mathit"):
            indices = self.subscripts()
            if self.at_open():
                return self.apply(arg, indices, tok)
            if arg == "argmax" and indices is not None:
                return nt.ArgMax(self.term(), sp.Tuple(*indices))
            if indices is None and len(arg) > 0:
                return sp.Symbol(arg)
        raise self.error(f"\\{kind}{{{arg}}} cannot be read here", tok)

    def refuse(self, tok: Token):
        raise self.error(f"\\{tok.value}{{{tok.arg}}} is not part of the notation", tok, RefusedName)

    def apply(self, name: str, indices: list | None, tok: Token):
        """``f(args)``, ``f\\left(args\\right)`` or SymPy's ``f{\\left(args \\right)}``."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        if not self.at_open():
            raise self.error(f"{name} needs its argument in parentheses", tok)
        args = self.arguments()
        if braced:
            self.expect_sym("}")
        if indices is not None:
            if len(indices) != 1 or len(args) != 1:
                raise self.error(f"{name}_{{...}}(...) takes one index and one argument", tok)
            return nt.FunctionEntry(name, indices[0], args[0])
        if len(args) == 1:
            return self.apply_value(name, args[0], tok)
        if all(isinstance(a, MatrixExpr) for a in args):
            return nt.Applied(name, *args)
        return sp.Function(name)(*args)

    def apply_value(self, name: str, arg, tok: Token):
        fn = _FUNCTIONS.get(name)
        if isinstance(arg, MatrixExpr):
            if fn is not None:
                return nt.elementwise(fn, arg)
            return nt.Applied(name, arg)
        if fn is None:
            return sp.Function(name)(arg)
        return fn(arg, evaluate=False)

    def fraction(self, tok: Token):
        num_tokens = self.brace_span()
        den_tokens = self.brace_span()
        (a0, a1), (b0, b1) = num_tokens, den_tokens
        first_num, first_den = self.toks[a0], self.toks[b0]
        for marker in ("d", "partial"):
            def is_marker(t_: Token, m=marker) -> bool:
                return (t_.kind == "letter" and t_.value == "d") if m == "d" else \
                    (t_.kind == "cmd" and t_.value == "partial")
            if is_marker(first_num) and is_marker(first_den) and a1 - a0 > 1 and b1 - b0 > 1:
                numer = self.sub_parse(a0 + 1, a1, self.expr)
                var = self.sub_parse(b0 + 1, b1, self.factor)
                if isinstance(var, MatrixExpr) and not isinstance(numer, MatrixExpr):  # a gradient: shaped as var
                    return nt.VecDerivative(numer, var, partial=marker == "partial")
                cls = nt.TotalDerivative if marker == "d" else nt.PartialDerivative
                return cls(numer, var)
        numer = self.sub_parse(a0, a1, self.expr)
        denom = self.sub_parse(b0, b1, self.expr)
        if isinstance(denom, MatrixExpr):
            raise self.error("division by a matrix", tok, ShapeMismatch)
        if numer.is_Integer and denom.is_Integer:
            if denom == 0:
                raise self.error("division by zero", tok)
            value = sp.Rational(numer, denom)
            self.second_reading(a0 - 2, b1 + 1, [value], self.toks[b1])  # the whole \\frac{a}{b}
            return value
        if isinstance(numer, MatrixExpr):
            return sp.MatMul(sp.Pow(denom, -1), numer)
        return sp.Mul(numer, sp.Pow(denom, -1), evaluate=False)

    def brace_span(self) -> tuple[int, int]:
        """The token range inside the next ``{...}`` (skipped over; parsed later by :meth:`sub_parse`)."""
        self.expect_sym("{", "to open a fraction's part")
        start, level = self.i, 1
        while True:
            tok = self.take()
            if tok.kind == "sym" and tok.value == "{":
                level += 1
            elif tok.kind == "sym" and tok.value == "}":
                level -= 1
                if level == 0:
                    if self.i - 1 == start:
                        raise self.error("an empty fraction part", tok)
                    return start, self.i - 1
            elif tok.kind == "eof":
                raise self.error("a fraction part is never closed", tok, Unbalanced)

    def sub_parse(self, start: int, stop: int, rule: Callable[[], Any]):
        """Parse tokens ``start:stop`` with ``rule``; they must be consumed exactly."""
        saved, saved_toks = self.i, self.toks
        end = saved_toks[stop]
        self.toks = saved_toks[:stop] + [Token("eof", "", end.pos, end.pos)]
        self.i = start
        try:
            value = rule()
            if self.peek().kind != "eof":
                raise self.error(f"unexpected {self.describe(self.peek())} in a fraction")
            return value
        finally:
            self.toks, self.i = saved_toks, saved

    def big_operator(self, name: str, tok: Token):
        if not self.at_sym("_"):
            raise self.error(f"\\{name} needs a subscript", tok)
        self.take()
        if self.at_sym("{") and self.peek(2).kind == "sym" and self.peek(2).value == "=":
            self.take()
            var_tok = self.take()
            if var_tok.kind == "letter":
                var = self.letter_symbol(var_tok.value)
            elif var_tok.kind == "cmd" and var_tok.value in _GREEK:
                var = self.greek(var_tok.value)
            else:
                raise self.error(f"\\{name}'s index must be a letter", var_tok)
            self.expect_sym("=")
            lo = self.index_expr()
            self.expect_sym("}")
            if not self.at_sym("^"):
                raise self.error(f"\\{name}_{{{var}=...}} needs an upper bound ^...", tok)
            self.take()
            hi = self.script()
            body = self.term()
            return (sp.Sum if name == "sum" else sp.Product)(body, (var, lo, hi))
        (index,) = self.script(index=True)
        if self.at_sym("^"):
            raise self.error(f"\\{name}_{index}^... needs a start: \\{name}_{{{index}=1}}^...", tok)
        if name == "prod":
            raise self.error("\\prod needs bounds: \\prod_{t=1}^T", tok)
        return nt.StateSum(self.term(), index)

    def order(self):
        """SymPy's ``O\\left(expr; z\\rightarrow a\\right)``: terms of the order of ``expr`` as ``z -> a``."""
        open_tok = self.take()
        body = self.expr()
        point = None
        if self.at_sym(";"):
            self.take()
            var = self.expr()
            if not (self.at("cmd", "rightarrow") and isinstance(var, sp.Symbol)):
                raise self.error("expected 'z \\rightarrow a' in O(...)")
            self.take()
            point = (var, self.expr())
        end = self.take()
        if not ((end.kind == "cmd" and end.value == "right") or (end.kind == "sym" and end.value == ")")):
            raise self.error(f"expected ')' to close O(, found {self.describe(end)}", end)
        del open_tok
        return sp.Order(body, point) if point else sp.Order(body)

    # -- probability --
    def probability(self):
        open_tok = self.take()
        left = open_tok.kind == "cmd"
        events, given = self.event_list(), []
        if self.at_sym("|"):
            self.take()
            given = self.event_list()
        end = self.peek()
        if left:
            if not (end.kind == "cmd" and end.value == "right"):
                raise self.error(f"expected \\right) to close P(, found {self.describe(end)}")
        elif not (end.kind == "sym" and end.value == ")"):
            raise self.error(f"expected ')' to close P(, found {self.describe(end)}")
        self.take()
        return nt.P(_spans(events), _spans(given))

    def event_list(self) -> list:
        items = [self.event()]
        while self.at_sym(","):
            self.take()
            items.append(self.event())
        return items

    def event(self):
        if self.at("cmd", "dots") or self.at("cmd", "ldots"):
            self.take()
            return nt.Dots()
        tok = self.peek()
        rv = self.expr()
        if not isinstance(rv, nt.RV):
            raise self.error(f"expected a random variable (Y_t, X_t) in P(...), found {self.describe(tok)}", tok)
        if self.at_sym("="):
            self.take()
            return nt.Is(rv, self.expr())
        return rv

    # -- environments --
    def environment(self):
        tok = self.take()
        rows: list[list[Any]] = [[]]
        while True:
            nxt = self.peek()
            if nxt.kind == "end":
                self.take()
                break
            if nxt.kind == "rowsep":
                self.take()
                rows.append([])
                continue
            if nxt.kind == "sym" and nxt.value == "&":
                self.take()
                if not rows[-1]:
                    rows[-1].append(None)
                rows[-1].append(None)
                continue
            cell = self.cell(tok.arg)
            if rows[-1] and rows[-1][-1] is None:
                rows[-1][-1] = cell
            elif rows[-1]:
                raise self.error("two entries in one cell", nxt)
            else:
                rows[-1].append(cell)
        if rows and not rows[-1]:
            rows.pop()
        if not rows:
            raise self.error(f"an empty {tok.arg}", tok)
        if any(c is None for row in rows for c in row):
            raise self.error(f"an empty cell in {tok.arg}", tok)
        if tok.arg == "cases":
            return self.cases(rows, tok)
        if tok.arg == "array":
            return self.table(rows, tok)
        return self.matrix(rows, tok)

    def cell(self, env: str):
        if env == "array":
            return self.table_cell()
        if self.peek().kind == "cmd" and self.peek().value in ("vdots", "cdots", "ddots"):
            return _DotsCell(self.take().value)
        if env == "cases" and self.at("text") and self.peek().arg.strip() == "otherwise":
            self.take()
            return sp.true
        value = self.relation()
        if self.at("text") and self.peek().arg.strip() == "if":
            self.take()
            event = self.relation()
            if not (isinstance(event, sp.Eq) and isinstance(event.lhs, nt.RV)) or value != 1:
                raise self.error("expected '1 \\text{ if } X_t = word'", self.peek())
            return nt.OneIf(nt.Is(event.lhs, event.rhs))
        return value

    def table_cell(self):
        """A cell of an ``array``: words (``\\text{...}``) and math, one after another (a Tuple if more than one)."""
        parts = []
        self.in_table += 1
        try:
            while not (self.at_sym("&") or self.peek().kind in ("rowsep", "end", "eof")):
                tok = self.peek()
                if tok.kind == "text" and tok.value == "text":
                    self.take()
                    try:
                        parts.append(nt.Words(tok.arg.strip()))
                    except ValueError:
                        raise self.error(f"\\text{{{tok.arg}}} is not plain words", tok, RefusedName) from None
                else:
                    parts.append(self.relation())
        finally:
            self.in_table -= 1
        if not parts:
            raise self.error("an empty cell in a table")
        return parts[0] if len(parts) == 1 else sp.Tuple(*parts)

    def table(self, rows: list, tok: Token):
        """``\\begin{array}{ll} header \\\\ rows \\end{array}``: a table whose first row is its words."""
        header, body = rows[0], rows[1:]
        if len(header) != len(tok.spec) or not all(isinstance(h_, nt.Words) for h_ in header):
            raise self.error(f"a table's first row must be {len(tok.spec)} headings in \\text{{...}}", tok)
        if any(len(r) != len(header) for r in body):
            detail = ", ".join(f"row {n + 2} has {len(r)}" for n, r in enumerate(body))
            raise ShapeMismatch(f"ragged table of {len(header)} columns: {detail} cells", tok.pos, self.text)
        return nt.Table(header, body)

    def cases(self, rows: list, tok: Token):
        pairs = []
        for row in rows:
            if len(row) != 2:
                raise self.error(f"each row of cases needs 'value & condition', found {len(row)} cells", tok)
            pairs.append((row[0], row[1]))
        return sp.Piecewise(*pairs)

    def matrix(self, rows: list, tok: Token):
        widths = [len(r) for r in rows]
        if any(isinstance(c, _DotsCell) for row in rows for c in row):
            return self.dots_matrix(rows, tok)
        if len(set(widths)) != 1:
            detail = ", ".join(f"row {n + 1} has {w}" for n, w in enumerate(widths))
            raise ShapeMismatch(f"ragged bmatrix: {detail} entries", tok.pos, self.text)
        blocks = [isinstance(c, MatrixExpr) for row in rows for c in row]
        if any(blocks):
            if not all(blocks):
                raise self.error("a bmatrix mixes matrices and scalars", tok, ShapeMismatch)
            try:
                return sp.BlockMatrix(rows)
            except (ValueError, sp.ShapeError) as exc:
                raise ShapeMismatch(f"blocks do not fit: {exc}", tok.pos, self.text) from None
        for row in rows:
            for c in row:
                if isinstance(c, (sp.MatrixBase, tuple, sp.Tuple)):
                    raise self.error("a bmatrix entry must be a scalar", tok, ShapeMismatch)
        return sp.ImmutableMatrix(rows)

    def dots_matrix(self, rows: list, tok: Token):
        def split(entry) -> tuple[str, tuple]:
            if isinstance(entry, sp.Indexed):
                return str(entry.base.label), tuple(entry.indices)
            raise self.error("a bmatrix with dots must show indexed entries such as h_{1,t}", tok)

        if [len(r) for r in rows] == [1, 1, 1] and isinstance(rows[1][0], _DotsCell):
            (b1, (r1, c1)), (b2, (r2, c2)) = split(rows[0][0]), split(rows[2][0])
            if b1 == b2 and r1 == 1 and c1 == c2:
                return nt.DotsMatrix(b1, r2, 1, c1)
        if [len(r) for r in rows] == [3, 3, 3] and [type(c).__name__ for c in rows[1]] == ["_DotsCell"] * 3:
            corners = [split(rows[0][0]), split(rows[0][2]), split(rows[2][0]), split(rows[2][2])]
            base = {b for b, _ in corners}
            (_, (a, b)), (_, (c, d)), (_, (e, f)), (_, (g_, h_)) = corners
            if len(base) == 1 and (a, b) == (1, 1) and c == 1 and f == 1 and (e, d) == (g_, h_):
                return nt.DotsMatrix(base.pop(), e, d)
        raise self.error("dots in a bmatrix must follow the lecture's pattern (first, \\vdots, last)", tok)


class _DotsCell:
    def __init__(self, kind: str):
        self.kind = kind


# ---- helpers -------------------------------------------------------------------------------------------------------


def _shape(shape) -> str:
    return f"{shape[0]} x {shape[1]}"


def _fits(a, b) -> bool | None:
    """True if two shapes are equal, False if provably different, None if that depends on the sizes (N, V+1)."""
    verdict: bool | None = True
    for x, y in zip(a, b, strict=False):
        d = sp.simplify(_sympify(x) - _sympify(y))
        if d != 0:
            if d.is_number:
                return False
            verdict = None
    return verdict


def _explicit(m) -> bool:
    return bool(m.atoms(sp.ImmutableMatrix)) or isinstance(m, (sp.ImmutableMatrix, nt.ScaledMatrix)) or \
        bool(m.atoms(nt.ScaledMatrix))


def _declared_name(name: str, indices: list | None) -> str:
    """``b`` with the subscript ``ii`` as the name ``b_ii`` (empty when the subscript is not letters or digits)."""
    if indices is None:
        return name
    parts = [str(ix) for ix in indices if isinstance(ix, (sp.Symbol, sp.Integer))]
    ok = len(parts) == len(indices) and all(re.fullmatch(r"[A-Za-z0-9]+", p_) for p_ in parts)
    return f"{name}_{''.join(parts)}" if ok else ""


def _summed_matrix(term) -> bool:
    return isinstance(term, (sp.Sum, sp.Product)) and isinstance(term.function, MatrixExpr)


def _index_name(ix, parser: _Parser, tok: Token) -> str:
    if isinstance(ix, sp.Symbol) and re.fullmatch(r"[A-Za-z]+", ix.name):
        return ix.name
    if isinstance(ix, sp.Integer):
        return str(ix)
    raise parser.error("a matrix name's subscript must be a letter or a number", tok)


def _spans(items: list) -> list:
    """``X_a, \\dots, X_b`` becomes ``Span(a, b, states=False)``; ``Y_a, X_a, \\dots, Y_b, X_b`` a full Span."""
    out = list(items)
    for n, item in enumerate(out):
        if not isinstance(item, nt.Dots) or n == 0:
            continue
        before, after = out[:n], out[n + 1:]
        if len(before) >= 2 and len(after) >= 2 and all(isinstance(x, nt.RV) for x in (*before[-2:], *after[:2])):
            (ya, xa), (yb, xb) = before[-2:], after[:2]
            if (ya.name, xa.name, yb.name, xb.name) == ("Y", "X", "Y", "X") and ya.time == xa.time \
                    and yb.time == xb.time:
                return _spans([*before[:-2], nt.Span(ya.time, yb.time), *after[2:]])
        if before and after and isinstance(before[-1], nt.RV) and isinstance(after[0], nt.RV) \
                and before[-1].name == after[0].name == "X":
            return _spans([*before[:-1], nt.Span(before[-1].time, after[0].time, states=False), *after[1:]])
    return out


_PLAIN_CMDS = frozenset({"frac", "cdot", "times"})


def _plain_arithmetic(toks: Sequence[Token]) -> bool:
    """Integers, single letters, + - and fractions only, with at least one operation (worth a second reading)."""
    ops = 0
    for t_ in toks:
        if t_.kind == "num" and "." not in t_.value:
            continue
        if t_.kind == "letter":
            continue
        if t_.kind == "sym" and t_.value in "+-(){}":
            ops += t_.value in "+-"
            continue
        if t_.kind == "cmd" and t_.value in _PLAIN_CMDS:
            ops += 1
            continue
        return False
    words = [t_ for a, t_ in zip(toks, toks[1:], strict=False) if a.kind == t_.kind == "letter" and t_.glued]
    return ops > 0 and not words


def _from_backend(value, parser: _Parser, tok: Token):
    """A backend's answer rebuilt node by node from an allow-list; anything else is a BackendError."""
    if isinstance(value, (list, tuple)) or not isinstance(value, sp.Basic):
        raise BackendError(f"backend returned {type(value).__name__}, not an expression", tok.pos, parser.text)
    if isinstance(value, sp.Float):
        return sp.Rational(Fraction(repr(float(value))))
    if isinstance(value, (sp.Integer, sp.Rational)):
        return value
    if isinstance(value, sp.Symbol):
        if not re.fullmatch(r"[A-Za-z]", value.name):
            raise BackendError(f"backend produced the symbol {value.name!r}", tok.pos, parser.text)
        return parser.letter_symbol(value.name)
    if isinstance(value, (sp.Add, sp.Mul, sp.Pow)):
        return value.func(*[_from_backend(a, parser, tok) for a in value.args])
    raise BackendError(f"backend produced {type(value).__name__}, outside the arithmetic allow-list", tok.pos,
                       parser.text)


# ---- public API ----------------------------------------------------------------------------------------------------


def parse_math(text: str, *, notation: Notation = DEFAULT_NOTATION, limits: Limits = DEFAULT_LIMITS,
               backend: str | Backend | None = "auto") -> Parsed:
    """Read one math span; returns the expression (a tuple for a comma list) with the decimals it showed."""
    be = backend if isinstance(backend, Backend) or backend is None else load_backend(backend)
    parser = _Parser(text, notation, limits, be)
    try:
        expr = parser.document()
    except RecursionError:
        raise TooDeep("expression nests too deeply", parser.peek().pos, text) from None
    except ParseError:
        raise
    except (ValueError, TypeError, sp.ShapeError, AttributeError, NotImplementedError) as exc:
        raise Unexpected(f"cannot build this expression: {exc}", parser.peek().pos, text) from None
    return Parsed(expr, tuple(parser.decimals), be.name if be else None, len(parser.readings))


def parse(text: str, *, notation: Notation = DEFAULT_NOTATION, limits: Limits = DEFAULT_LIMITS,
          backend: str | Backend | None = "auto"):
    """The SymPy object (symrnn notation) that a LaTeX math span denotes; raises :class:`ParseError`."""
    return parse_math(text, notation=notation, limits=limits, backend=backend).expr


# ---- comparison ----------------------------------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"^[A-Za-z]+$")


def canonical(expr):
    """A normal form for comparing meaning: symbols without assumptions, bound variables renamed, products and
    sums re-evaluated, decimals as shown, a derivative of a scalar in a vector or matrix as the gradient
    (:class:`symrnn.notation.VecDerivative`), and a symbol whose name is not a plain word (``Delta_4``,
    ``u_{1,1}``, ``\\hat{y}``, ``\\vec{h}_0``) replaced by what its printed LaTeX means, read with the sizes the
    expression gives its vectors and matrices."""
    return _canonical(expr, _Meanings(notation_of(expr, strict=False)))


@dataclass
class _Meanings:
    """What each LaTeX-named symbol of one expression means, read with that expression's sizes."""

    notation: Notation
    memo: dict = field(default_factory=dict)


def _symbol_meaning(sym: sp.Symbol, meanings: _Meanings):
    if _PLAIN_NAME.match(sym.name):
        return sp.Symbol(sym.name)
    memo = meanings.memo
    if sym.name not in memo:
        from symrnn.latex.printer import latex

        memo[sym.name] = sp.Symbol(sym.name)  # a fixed point while it is being read
        try:
            meant = parse(latex(sym), backend=None, notation=meanings.notation)
        except ParseError:
            meant = sp.Symbol(sym.name)
        if not (isinstance(meant, sp.Symbol) and meant.name == sym.name):
            meant = _canonical(meant, meanings)
        memo[sym.name] = meant
    return memo[sym.name]


def _canonical(expr, memo: _Meanings):
    if isinstance(expr, tuple):
        return tuple(_canonical(e, memo) for e in expr)
    if not isinstance(expr, sp.Basic) or isinstance(expr, (sp.Dummy, sp.Number, nt.Words)):
        return expr  # a table's words are text, not names to read
    if isinstance(expr, sp.Symbol):
        return _symbol_meaning(expr, memo)
    if isinstance(expr, sp.IndexedBase):
        return sp.IndexedBase(str(expr.label))
    if isinstance(expr, sp.Lambda):
        var = sp.Symbol("_lambda_")
        (old,) = expr.variables
        return sp.Lambda(var, _canonical(expr.expr.xreplace({old: var}), memo))
    if isinstance(expr, nt.Rounded):
        return nt.Rounded(sp.Rational(nt.decimal_text(expr.value, expr.places)), expr.places)
    if isinstance(expr, nt.Chain):
        return nt.Chain([_canonical(t_, memo) for t_ in expr.terms], expr.relations)
    if type(expr) in (nt.TotalDerivative, nt.PartialDerivative):
        of, var = _canonical(expr.expr, memo), _canonical(expr.variable, memo)
        if isinstance(var, MatrixExpr) and not isinstance(of, MatrixExpr):  # the same gradient, two classes
            return nt.VecDerivative(of, var, partial=isinstance(expr, nt.PartialDerivative))
        return type(expr)(of, var)
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr.rows, expr.cols, [_canonical(e, memo) for e in expr])
    if not expr.args:
        return expr
    args = [_canonical(a, memo) for a in expr.args]
    try:
        if isinstance(expr, (sp.MatAdd, sp.MatMul, sp.HadamardProduct)):  # \odot commutes: factors in order
            return expr.func(*args).doit(deep=False)
        if isinstance(expr, sp.Pow) and isinstance(args[0], sp.Rational) and args[0].p == 1 and args[0].q > 1:
            return sp.Pow(sp.Integer(args[0].q), -args[1])  # (1/2)^t as 2^(-t), the form SymPy evaluates it to
        if isinstance(expr, sp.Piecewise):
            return sp.Piecewise(*[(a.args[0], a.args[1]) for a in args])
        if isinstance(expr, Relational):
            return expr.func(*args, evaluate=False)
        if isinstance(expr, (sp.Add, sp.Mul, sp.Pow, sp.Function, sp.Tuple, sp.Indexed, sp.Sum, sp.Product,
                             ElementwiseApplyFunction, sp.MatrixSymbol, sp.BlockMatrix, sp.Order)):
            return expr.func(*args)
    except (TypeError, ValueError, sp.ShapeError):
        pass
    return sp.Basic.__new__(type(expr), *args)  # notation classes: rebuilt as they are, names untouched


def same(a, b, trials: int = 4, seed: int = 0) -> str | None:
    """How ``a`` and ``b`` were found equal: ``"structural"``, ``"canonical"``, ``"exact points"``; None if not."""
    a = a[0] if isinstance(a, tuple) and len(a) == 1 else a
    b = b[0] if isinstance(b, tuple) and len(b) == 1 else b
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b):
            return None
        ways = [same(x, y, trials, seed) for x, y in zip(a, b, strict=False)]
        if None in ways:
            return None
        order = ["structural", "canonical", "exact points"]
        return max(ways, key=order.index)
    if a == b:
        return "structural"
    ca, cb = canonical(a), canonical(b)
    if ca == cb:
        return "canonical"
    return "exact points" if _equal_at_points(ca, cb, trials, seed) else None


def _equal_at_points(a, b, trials: int, seed: int) -> bool:
    import random

    from symrnn.numeric.spot import random_point

    if isinstance(a, Relational) and isinstance(b, Relational) and type(a) is type(b):
        return _equal_at_points(a.lhs, b.lhs, trials, seed) and _equal_at_points(a.rhs, b.rhs, trials, seed)
    if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)) or isinstance(a, MatrixExpr) \
            or isinstance(b, MatrixExpr):
        return False
    for node in (*sp.preorder_traversal(a), *sp.preorder_traversal(b)):
        if type(node).__module__.startswith(nt.__name__ + ".") or isinstance(node, (sp.Indexed, AppliedUndef)):
            return False  # names stored as symbols (Vec, RV, Applied, ...) are not values to sample
    diff = a - b
    rng = random.Random(seed)
    for _ in range(trials):
        point = random_point(diff.free_symbols, rng)
        value = diff.xreplace(point)
        if value.is_Rational:
            if value != 0:
                return False
            continue
        num = value.evalf(50)
        if not num.is_number or abs(num) > sp.Float("1e-40", 50):
            return False
    return True


_SAFE_FUNCTIONS = frozenset({"exp", "log", "tanh", "sigmoid", "Abs", "Max", "Min"})


def check_lambdifiable(expr) -> None:
    """Refuse (ValueError) what must not reach ``lambdify`` or :mod:`symrnn.codegen`: a symbol whose name is not a
    plain identifier or shadows a Python builtin or keyword, and any function that is not a known SymPy function
    (an undefined ``\\operatorname{exec}(x)`` would print as a call to Python's ``exec``)."""
    import builtins
    import keyword

    for s in expr.atoms(sp.Symbol, sp.MatrixSymbol):
        name = s.name if isinstance(s.name, str) else str(s.name)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or keyword.iskeyword(name) or hasattr(builtins, name):
            raise ValueError(f"symbol name {name!r} is refused before code generation")
    for f in expr.atoms(sp.Function):
        fname = type(f).__name__
        if isinstance(f, AppliedUndef) or fname not in _SAFE_FUNCTIONS:
            raise ValueError(f"function {fname!r} is refused before code generation")


__all__ = ["BACKENDS", "Backend", "BackendError", "Decimal", "EmptyInput", "Limits", "Notation", "ParseError",
           "Parsed", "RefusedName", "ShapeMismatch", "Timeout", "TooDeep", "TooLong", "Unbalanced", "Unexpected",
           "UnknownMacro", "available_backends", "canonical", "check_lambdifiable", "load_backend", "notation_of",
           "parse", "parse_math", "same", "tokenize"]
