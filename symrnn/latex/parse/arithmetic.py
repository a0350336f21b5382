"""Grammar: sums, products (``\\cdot``, ``\\times``, juxtaposition, ``/``, ``\\odot``/``\\circ``/``\\otimes``/
``\\oslash``), powers and transposes (``^T``, ``^\\top``, ``^\\intercal``), with shapes.

Matrices are checked as they are combined: a sum or product of provably different shapes is a
:class:`ShapeMismatch`; when the shapes depend on sizes such as N and V+1 the result is kept unevaluated
(``MatAdd``/``MatMul``) for the audit to report the condition.  A scalar written before an explicit matrix is its
factor (``\\frac{1}{10}[...]``) and a declared gate before a vector an entrywise product (``f_t \\vec{c}_{t-1}``).
``\\circ`` (between vectors or matrices) and ``\\otimes`` (between vectors) are the entrywise product too;
``\\cdot`` between two vectors is their dot product ``a^T b``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import ShapeMismatch, TooDeep, Unexpected
from symrnn.latex.parse.objects import MatrixAt
from symrnn.latex.parse.tokens import RELATIONS, Token
from symrnn.ops import Ratio

_NOT_A_START = ("right", "cdot", "times", "odot", "oslash", "circ", "otimes", "vdots", "cdots", "ddots",
                "rightarrow", "top", "intercal", "rVert", "rbrace", "prime", *RELATIONS)
_ENTRYWISE = ("odot", "oslash", "circ", "otimes")  # \\circ and \\otimes join vectors entrywise, as \\odot
_TRANSPOSES = ("top", "intercal")  # ^\\top, ^\\intercal (and ^T after a matrix)


class ArithmeticMixin(ParserCore):
    """Sums, products and powers."""

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
            return sp.MatMul(sp.S.NegativeOne, value) if _bounded(value) else -value
        if isinstance(value, nt.Rounded):
            return nt.Rounded(-value.value, value.places)
        if value.is_Number:
            return -value
        if not isinstance(value, sp.Expr):  # a list or a relation in brackets has no negative
            raise self.error(f"a minus sign before {type(value).__name__.lower()} that is not a number or a matrix")
        return sp.Mul(sp.S.NegativeOne, value, evaluate=False)

    def combine_sum(self, terms: list, start: Token):
        if len(terms) == 1:
            return terms[0]
        self.only_values(terms, start, "added")
        if any(_summed_matrix(t_) for t_ in terms):  # \sum_{\tau=1}^{t} W\vec{x}_\tau + \vec{h}_0: kept as written
            shapes = [(t_.function if _summed_matrix(t_) else t_).shape for t_ in terms
                      if _summed_matrix(t_) or isinstance(t_, MatrixExpr)]
            if len(shapes) != len(terms) or any(fits(a, shapes[0]) is False for a in shapes[1:]):
                raise self.error("a sum of matrices with a term of another shape", start, ShapeMismatch)
            return sp.Add(*terms, evaluate=False)
        mats = [t_ for t_ in terms if isinstance(t_, MatrixExpr)]
        if not mats:
            return self.sized(sp.Add(*terms, evaluate=False), start)
        shape = mats[0].shape
        unproven = False
        for m in mats[1:]:
            fit = fits(m.shape, shape)
            if fit is False:
                raise self.error(f"cannot add matrices of shapes {shape_text(shape)} and {shape_text(m.shape)}",
                                 start, ShapeMismatch)
            unproven |= fit is None
        scalars = [t_ for t_ in terms if not isinstance(t_, MatrixExpr)]
        if scalars:  # the lecture's \vec{\xi} - 1: a number added to every entry of a vector
            if shape[1] != 1 and any(s_.free_symbols for s_ in scalars):  # W x_t + b_{ih}: b is a vector
                for s_ in scalars:
                    self.want_vectors(s_)
                raise self.error("a number added to a matrix: only a vector can be shifted", start, ShapeMismatch)
            for s_ in scalars:  # W x_t + b_{in}: a bias added to a vector is a vector (read again as such)
                if _name(s_) and _letter(s_) in self.sizes.parameters:
                    self.want_vectors(s_)
                    self.biases.add(_letter(s_))
            shift = scalars[0] if len(scalars) == 1 else sp.Add(*scalars)
            vector = mats[0] if len(mats) == 1 else self.combine_sum(mats, start)
            return nt.VecShift(vector, shift)
        mats = [m.xreplace({sp.OneMatrix(nt.N, 1): sp.OneMatrix(*shape)}) if shape[1] == 1 else m for m in mats]
        if unproven or any(_explicit(m) or _bounded(m) for m in mats):
            # sizes such as N and V + 1 may be equal: the audit reports the condition
            return self.sized(sp.MatAdd(*mats), start)
        return sp.MatAdd(*[m.doit() for m in mats]).doit(deep=False)  # at once: one by one is quadratic

    # -- products --
    def starts_factor(self) -> bool:
        tok = self.peek()
        if tok.kind in ("num", "letter", "begin"):
            return True
        if tok.kind == "text":
            return tok.value != "text" or (not self.in_table and not conditional_words(tok))
        if tok.kind == "sym":
            return tok.value in ("(", "[", "{")
        if tok.kind == "cmd":
            if tok.value == "Vert":  # inside a norm, \\| closes it
                return not self.norm_depth
            return tok.value not in _NOT_A_START or (tok.value == "cdot" and self.at_sym_ahead(1, ")"))
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
                    op = self.take()
                    self.dot_or_product(segments[-1], self.factor(), op)
                elif self.peek().kind == "cmd" and self.peek().value in _ENTRYWISE:
                    ops.append(self.take())
                    segments.append([self.factor()])
                elif self.at_sym("*") and self.peek(1).kind != "eof":  # f_t * c_{t-1}: entrywise between vectors
                    op = self.take()
                    value = self.factor()
                    if isinstance(segments[-1][-1], MatrixExpr) and isinstance(value, MatrixExpr):
                        ops.append(Token("cmd", "odot", op.pos, op.end, "", op.glued))
                        segments.append([value])
                    else:
                        segments[-1].append(value)  # a * b of numbers or names: their product
                elif self.at_sym("/"):
                    op = self.take()
                    value = self.factor()
                    if isinstance(value, MatrixExpr):
                        raise self.error("division by a matrix", op, ShapeMismatch)
                    segments[-1].append(self.power(value, sp.S.NegativeOne, op))
                elif self.starts_factor():
                    segments[-1].append(self.factor())
                else:
                    break
            return self.entrywise([self.product(seg, start) for seg in segments], ops, start)
        finally:
            self.depth -= 1

    def dot_or_product(self, factors: list, value, op: Token) -> None:
        """``a \\cdot b``: a product, or of two vectors their dot product ``a^T b``; ``\\times`` between two vectors
        (a cross product) is not read."""
        before = factors[-1]
        if _column(before) and _column(value):
            if op.value == "times":
                raise self.error("a cross product of vectors is not read", op, Unexpected)
            if fits(before.shape, value.shape) is False:
                raise self.error(f"a dot product of shapes {shape_text(before.shape)} and {shape_text(value.shape)}",
                                 op, ShapeMismatch)
            factors[-1] = sp.MatMul(sp.Transpose(before), value)
            return
        factors.append(value)

    def entrywise(self, values: list, ops: list[Token], start: Token):
        """Products joined by ``\\odot``/``\\oslash``, left to right: ``a \\odot b \\oslash c`` is ``(a . b) / c``."""
        if len(values) == 1:
            return values[0]
        if len(ops) > self.limits.max_depth:  # each \oslash wraps what came before it
            raise self.error(f"more than {self.limits.max_depth} \\odot/\\oslash in a row",
                             ops[self.limits.max_depth], TooDeep)
        scalars = [v for v in values if not isinstance(v, MatrixExpr)]
        for v in scalars:  # f_t \odot c_{t-1}: by usage f_t and c_{t-1} are vectors (read again as such)
            if not isinstance(v, sp.Symbol):  # bare names (x \circ y, a composition) are not
                self.want_vectors(v)
        for op, v in zip(ops, values[1:], strict=True):  # else a composition, or Kronecker's product
            if op.value == "circ" and not (isinstance(values[0], MatrixExpr) and isinstance(v, MatrixExpr)):
                raise self.error("\\circ is read between vectors or matrices only (a composition is not read)", op,
                                 Unexpected)
            if op.value == "otimes" and not (_column(values[0]) and _column(v)):
                raise self.error("\\otimes is read between vectors only (a Kronecker product is not read)", op,
                                 Unexpected)
        if scalars:
            raise self.error("\\odot joins matrices or vectors", start, ShapeMismatch)
        for v in values[1:]:
            if fits(v.shape, values[0].shape) is False:
                raise self.error(f"\\odot of shapes {shape_text(values[0].shape)} and {shape_text(v.shape)}", start,
                                 ShapeMismatch)
        run = [values[0]]
        for op, v in zip(ops, values[1:], strict=True):
            if op.value != "oslash":
                run.append(v)
            else:
                run = [Ratio(run[0] if len(run) == 1 else nt.hadamard(*run), v)]
        return run[0] if len(run) == 1 else nt.hadamard(*run)

    def only_values(self, items: list, start: Token, how: str) -> None:
        """Words, tuples, sets and relations stand alone (``N = \\text{batch size}``); they are not added or
        multiplied."""
        for item in items:
            if isinstance(item, (tuple, sp.Basic)) and not isinstance(item, (sp.Expr, sp.MatrixBase)):
                what = {nt.Words: "words", sp.Tuple: "a tuple"}.get(type(item), type(item).__name__)
                raise self.error(f"{what} cannot be {how}", start)

    def product(self, factors: list, start: Token):
        factors = [self.stacked(list(f), start) if isinstance(f, sp.Tuple) and n and _matrix_like(factors[n - 1])
                   else f for n, f in enumerate(factors)]  # W [h_{t-1}, x_t]: W times the stacked column
        if len(factors) > 1:
            self.only_values(factors, start, "multiplied")
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
        for a_, b_ in zip(merged, merged[1:], strict=False):  # W x_t: by usage x_t is a vector
            if isinstance(a_, MatrixExpr) and _name(b_):
                self.want_vectors(b_)
        mats = [f for f in merged if isinstance(f, MatrixExpr)]
        if not mats:
            return self.sized(sp.Mul(*merged, evaluate=False), start)
        unproven = False
        for a, b in zip(mats, mats[1:], strict=False):
            fit = fits((a.shape[1],), (b.shape[0],))
            if fit is False:
                raise self.error(f"cannot multiply a {shape_text(a.shape)} matrix by a {shape_text(b.shape)} one",
                                 start, ShapeMismatch)
            unproven |= fit is None
        if unproven or any(_explicit(m) for m in mats) or any(_bounded(f) for f in merged):
            return self.sized(sp.MatMul(*merged), start)
        try:  # one canonical product, at once: one by one is quadratic
            return sp.MatMul(*[f.doit() if isinstance(f, sp.Basic) else f for f in merged]).doit(deep=False)
        except (NotImplementedError, TypeError, ValueError) as exc:  # SymPy refuses the factors: symrnn's limit
            names = " by ".join(type(f).__name__ for f in merged)
            raise self.error(f"cannot multiply {names} here ({exc})", start) from None

    # -- powers --
    def factor(self):
        self.enter()
        try:
            if self.at_sym("-"):
                self.take()
                return self.negate(self.factor())
            base = self.primary()
            chain = 0
            while self.at_sym("^"):
                tok = self.take()
                chain += 1
                if chain > self.limits.max_depth:  # x^x^...^x: each power wraps the last
                    raise self.error(f"more than {self.limits.max_depth} powers in a row", tok, TooDeep)
                if isinstance(base, MatrixExpr):
                    base = self.matrix_power(base, tok)
                elif self.at_transpose():
                    self.script_tokens()  # a number's transpose is the number
                else:
                    base = self.power(base, self.script(), tok)
            return base
        finally:
            self.depth -= 1

    def at_transpose(self, kind: str = "cmd") -> bool:
        """After ``^``: ``\\top`` or ``\\intercal`` (or, ``kind="letter"``, ``T``), alone or braced."""
        braced = self.at_sym("{")
        tok = self.peek(1 if braced else 0)
        if not (tok.kind == kind and tok.value in (_TRANSPOSES if kind == "cmd" else ("T",))):
            return False
        return not braced or self.at("sym", "}", ahead=2)

    def matrix_power(self, base: MatrixExpr, tok: Token) -> MatrixExpr:
        """What follows ``^`` on a matrix: ``T`` (transpose), ``(t)`` (the copy used at step t; ``(t)\\top`` its
        transpose), ``\\circ 2`` (an entrywise power; also a vector's integer power, ``h^2``) or an exponent (a power
        of a square matrix)."""
        braced = self.at_sym("{")
        nxt = self.peek(1 if braced else 0)
        if self.at_transpose() or self.at_transpose("letter"):
            self.script_tokens()
            return sp.Transpose(base) if _bounded(base) else base.T
        if braced and nxt.kind == "sym" and nxt.value == "(":
            self.take()
            step = self.group()
            transposed = self.at_transpose() or self.at_transpose("letter")  # h^{(t)\top}: the copy, transposed
            if transposed:
                self.take()
            self.expect_sym("}", "after the step of U^{(t)}")
            if not isinstance(base, (sp.MatrixSymbol, MatrixAt)) or isinstance(step, MatrixExpr):
                raise self.error("only a named matrix has a copy per step, U^{(t)}", tok, ShapeMismatch)
            copy = nt.LayerCopy(base, step)
            return sp.Transpose(copy) if transposed else copy
        if nxt.kind == "cmd" and nxt.value == "circ":
            if braced:
                self.take()
            self.take()
            exponent = self.script()
            if braced:
                self.expect_sym("}", "after the entrywise power")
            if isinstance(exponent, MatrixExpr):
                raise self.error("an entrywise power needs a number", tok, ShapeMismatch)
            return self.power(base, exponent, tok, sp.HadamardPower)
        exponent = self.script()
        if _column(base) and not isinstance(exponent, MatrixExpr) and getattr(exponent, "is_Integer", False) \
                and exponent > 1:  # (1 - h^2), h a vector: its entries squared, as ML texts write it
            return self.power(base, exponent, tok, sp.HadamardPower)
        if isinstance(exponent, MatrixExpr) or fits((base.shape[0],), (base.shape[1],)) is not True:
            raise self.error(f"a power of a {shape_text(base.shape)} matrix", tok, ShapeMismatch)
        return self.power(base, exponent, tok, sp.MatPow)


# ---- shapes --------------------------------------------------------------------------------------------------------


def shape_text(shape: Sequence[Any]) -> str:
    return f"{shape[0]} x {shape[1]}"


def fits(a: Sequence[Any], b: Sequence[Any]) -> bool | None:
    """True if two shapes are equal, False if provably different, None if that depends on the sizes (N, V+1).
    Like terms cancel in the difference; nothing is simplified or expanded (a shape may come from the text)."""
    verdict: bool | None = True
    for x, y in zip(a, b, strict=False):
        d = _sympify(x) - _sympify(y)
        if d != 0:
            if d.is_number:
                return False
            verdict = None
    return verdict


def _bounded(term) -> bool:
    """A sum or product written with bounds inside: SymPy's matrix algebra would compute it (``doit``), and
    ``\\prod_{t=1}^{10^{6}} t`` is a number of millions of digits, so such a product or sum is kept as written."""
    return isinstance(term, sp.Basic) and term.has(sp.Sum, sp.Product, sp.Integral, sp.Derivative)


def conditional_words(tok: Token) -> bool:
    """A ``\\text{...}`` holding ``if`` or ``otherwise`` (``\\text{ if } X_t = k``, ``2 \\text{ if bidirectional=True
    otherwise } 1``): it ends a product, it is not a factor."""
    return tok.kind == "text" and tok.value == "text" and bool({"if", "otherwise"} & set(tok.arg.split()))


def _name(value) -> bool:
    """A name read as a number: ``x``, ``b_{ih}``, ``x_t`` (one index)."""
    return isinstance(value, sp.Symbol) or (isinstance(value, sp.Indexed) and len(value.indices) == 1)


def _letter(value) -> str:
    """The letter a name is written with: ``b`` for ``b_{ih}`` (a symbol ``b_ih``) or ``b_t``."""
    name = str(value.base.label) if isinstance(value, sp.Indexed) else value.name
    return name.split("_")[0]


def _matrix_like(value) -> bool:
    return isinstance(value, MatrixExpr) and not _column(value)


def _column(value) -> bool:
    """A vector: a matrix expression of one column (and not 1 x 1)."""
    return isinstance(value, MatrixExpr) and value.shape[1] == 1 and value.shape[0] != 1


def _explicit(m) -> bool:
    return bool(m.atoms(sp.ImmutableMatrix)) or isinstance(m, (sp.ImmutableMatrix, nt.ScaledMatrix)) or \
        bool(m.atoms(nt.ScaledMatrix))


def _summed_matrix(term) -> bool:
    return isinstance(term, (sp.Sum, sp.Product)) and isinstance(term.function, MatrixExpr)
