"""The right side of a cell's equation as a small tree of the operations a cell may use, read from the reader's
SymPy objects.

Leaves are the quantities at t and t-1 (``\\vec{h}_t``, ``h_{t-1}``), the input ``x_t``, parameters (matrices,
bias columns, Hadamard weights; ``\\mathbf{b}_{in}``, which the reader takes for b at "time" in, is the parameter
``b_in``) and the ones vector; nodes are sums, matrix products, Hadamard products, scalar multiples (numbers only),
transposes and the supported functions.  Anything else is refused with the equation's line.  Names become
identifiers here: the user's names are kept (``W_{hx}`` -> ``W_hx``, ``\\tilde{W}`` -> ``Wtilde``, Greek spelled
out), and a name that cannot be one (a Python keyword such as ``\\lambda``, a builtin) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.derive import errors
from symrnn.latex.parse.objects import MatrixAt
from symrnn.numeric import guard
from symrnn.ops import identity, relu, sigmoid, softplus

PARAM, PREVIOUS, CURRENT, INPUT, ONES = "param", "previous", "current", "input", "ones"

#: Scalar functions applied entrywise, by their class (the reader's ``\\tanh``, ``\\sigma``, ``\\mathrm{ReLU}``, ...).
ENTRYWISE = {sp.tanh: "tanh", sigmoid: "sigmoid", relu: "relu", softplus: "softplus", sp.exp: "exp",
             sp.log: "log", identity: "identity"}
#: Functions the reader keeps as named vector functions (``\\operatorname{softmax}``), by their lower-cased name.
NAMED = {"softmax": "softmax", "logsoftmax": "logsoftmax", "softplus": "softplus", "identity": "identity",
         "id": "identity", "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "exp": "exp", "log": "log"}
#: The input's name: ``x_t`` is read, never defined.
INPUT_NAME = "x"

_ACCENTED = re.compile(r"^\\(tilde|hat|bar)\{\\?([A-Za-z]+)\}(.*)$")


@dataclass(frozen=True)
class Leaf:
    kind: str  # PARAM, PREVIOUS, CURRENT, INPUT or ONES
    name: str = ""
    vector: bool = False  # a parameter read as a column (a bias, a Hadamard weight)
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Sum:
    terms: tuple
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Product:
    factors: tuple  # a matrix product, left to right
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Hadamard:
    factors: tuple
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Scaled:
    coeff: sp.Expr  # a number
    arg: Any
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Apply:
    function: str  # a value of ENTRYWISE or NAMED
    arg: Any
    origin: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Transposed:
    arg: Any
    origin: Any = field(default=None, compare=False, repr=False)


def children(term) -> tuple:
    """The sub-terms of a term (none for a leaf)."""
    if isinstance(term, (Sum,)):
        return term.terms
    if isinstance(term, (Product, Hadamard)):
        return term.factors
    if isinstance(term, (Scaled, Apply, Transposed)):
        return (term.arg,)
    return ()


def leaves(term):
    """Every leaf of a term, left to right."""
    if isinstance(term, Leaf):
        yield term
    for child in children(term):
        yield from leaves(child)


def shown(node: Any) -> str:
    """A node's LaTeX for a message (the reader's objects print back as LaTeX)."""
    if isinstance(node, str):
        return node
    try:
        from symrnn.latex.printer import latex
        return latex(node)
    except Exception:  # noqa: BLE001 - a message must not fail
        try:
            return str(node)
        except Exception:  # noqa: BLE001 - SymPy cannot even print some products (noncommutative scalars)
            return type(node).__name__


def _number(expr: sp.Expr) -> sp.Expr | None:
    """A scalar read as a number (decimals shown as ``0.5`` are exact), or None when it holds a name or something
    that is no real number (``\\dots``)."""
    value = expr.replace(lambda e: isinstance(e, nt.Rounded), lambda e: e.value)
    return value if value.is_number and value.is_real is True and value.is_finite is not False else None


def _quantity(term: Any) -> bool:
    return isinstance(term, Leaf) and term.kind in (PREVIOUS, CURRENT, INPUT)


def _superscript_time(node: Any) -> tuple[str, sp.Expr] | None:
    """``(name, time)`` of a vector written with its time as a superscript, ``\\boldsymbol{h}^{(t)}`` (read as the
    copy of h at step t) or ``h^{(t-1)}`` (read as a power): in a cell's equations nothing is raised to a power of t."""
    if isinstance(node, nt.LayerCopy) and isinstance(node.matrix, sp.MatrixSymbol) and node.matrix.shape[1] == 1 \
            and _is_time(node.step):
        return str(node.matrix.name), node.step
    if isinstance(node, sp.Pow) and isinstance(node.base, sp.Symbol) and _is_time(node.exp) \
            and sp.expand(node.exp - nt.t) in (0, -1):
        return node.base.name, node.exp
    return None


def _diagonal(factor: Any) -> bool:
    """``\\operatorname{diag}(u)``: the diagonal matrix of one vector."""
    return isinstance(factor, nt.Applied) and factor.name.lower() == "diag" and len(factor.arguments) == 1


def _stack(factor: Any) -> bool:
    """An explicit column of two or more parts (``[h_{t-1}; x_t]``, a bmatrix of vectors) ending a product."""
    if isinstance(factor, sp.BlockMatrix):
        return factor.blockshape[1] == 1 and factor.blockshape[0] > 1
    return isinstance(factor, sp.MatrixBase) and factor.cols == 1 and factor.rows > 1 and \
        all(not e.is_number for e in factor)


def _is_time(index: sp.Expr) -> bool:
    return bool(index.has(nt.t)) if isinstance(index, sp.Basic) else False


class Reader:
    """Turns one equation's SymPy objects into terms; errors carry the equation's line and LaTeX."""

    def __init__(self, line: int, text: str, activations: dict[str, str] | None = None):
        self.line, self.text = line, text
        self.activations = activations or {}  # functions the text defines by a formula (:mod:`.activations`)

    def fail(self, kind: type[errors.CellError], message: str) -> errors.CellError:
        return kind(message, self.line, self.text)

    def identifier(self, name: str, what: str) -> str:
        """The user's name as an identifier (``\\tilde{W}`` -> ``Wtilde``), or :class:`errors.BadName`."""
        m = _ACCENTED.match(name)
        if m:
            name = f"{m.group(2)}{m.group(1)}{m.group(3)}"
        try:
            return guard.check_name(name, what)
        except guard.UnsafeName as exc:
            raise self.fail(errors.BadName, f"the {what} name {name!r} cannot be an identifier of generated code: "
                                            f"{exc.reason}; rename it") from None

    def quantity(self, name: str, time: sp.Expr, node: Any) -> Leaf:
        """A name with a time index: the quantity at t or t-1, the input; any other time is refused."""
        name = self.identifier(name, "quantity")
        name = INPUT_NAME if name == INPUT_NAME.upper() else name  # d2l's minibatch X_t is the input too
        offset = sp.expand(time - nt.t)  # the reader may keep t - 1 unevaluated
        if offset == 0:
            return Leaf(INPUT if name == INPUT_NAME else CURRENT, name, origin=node)
        if offset == -1 and name != INPUT_NAME:
            return Leaf(PREVIOUS, name, origin=node)
        raise self.fail(errors.UnsupportedConstruct,
                        f"{shown(node)}: a cell reads its quantities at t and at t-1 (the input x at t only)")

    def indexed_parameter(self, base: str, indices: tuple, node: Any) -> Leaf:
        """``\\mathbf{b}_{in}``, ``b_{hi}``: a name whose subscript the reader took for an index."""
        parts = [str(ix) for ix in indices]
        if not all(re.fullmatch(r"[A-Za-z0-9]+", p) for p in parts):
            raise self.fail(errors.BadName, f"{shown(node)}: a parameter's subscript must be letters or digits")
        return Leaf(PARAM, self.identifier(f"{base}_{''.join(parts)}", "parameter"), True, node)

    def leaf(self, node: Any):
        if isinstance(node, nt.Vec):  # also a Gate: a plain name with a time index
            if _is_time(node.time):
                return self.quantity(node.base, node.time, node)
            return self.indexed_parameter(node.base, (node.time,), node)
        if isinstance(node, MatrixAt) and _is_time(node.time):  # C_t, \tilde{C}_t: a capital quantity
            return self.quantity(node.name, node.time, node)
        timed = _superscript_time(node)
        if timed is not None:  # Goodfellow et al.'s \boldsymbol{h}^{(t-1)}: the time as a superscript
            return self.quantity(*timed, node)
        if isinstance(node, sp.Indexed):
            base = str(node.base.label)
            if len(node.indices) == 1 and _is_time(node.indices[0]):
                return self.quantity(base, node.indices[0], node)
            return self.indexed_parameter(base, node.indices, node)
        if isinstance(node, sp.MatrixSymbol):
            vector = node.shape[1] == 1
            return Leaf(PARAM, self.identifier(str(node.name), "parameter"), bool(vector), node)
        if isinstance(node, sp.Symbol):  # a plain name added to a vector: a bias column
            return Leaf(PARAM, self.identifier(node.name, "parameter"), True, node)
        if isinstance(node, sp.OneMatrix):
            if node.shape[1] != 1:
                raise self.fail(errors.UnsupportedConstruct, f"{shown(node)}: only a column of ones is read")
            return Leaf(ONES, origin=node)
        return None

    def term(self, node: Any):
        """The term a node reads as (a vector or matrix expression)."""
        leaf = self.leaf(node)
        if leaf is not None:
            return leaf
        if isinstance(node, sp.MatAdd):
            return Sum(tuple(self.term(a) for a in node.args), node)
        if isinstance(node, sp.MatMul):
            return self.product(node)
        if isinstance(node, (sp.HadamardProduct, nt.Juxtaposed)):
            return Hadamard(tuple(self.term(a) for a in node.args), node)
        if isinstance(node, nt.VecShift):
            return Sum((self.term(node.vector), *self.shift(node.shift, node)), node)
        if isinstance(node, sp.Transpose):
            return Transposed(self.term(node.arg), node)
        if isinstance(node, ElementwiseApplyFunction):
            return self.entrywise(node)
        if isinstance(node, nt.Applied):
            return self.applied(node)
        if isinstance(node, (sp.Expr, sp.MatrixExpr)) and not node.free_symbols and _number(node) is not None:
            raise self.fail(errors.UnsupportedConstruct, f"{shown(node)}: a number where a vector is needed")
        raise self.fail(errors.UnsupportedConstruct,
                        f"{shown(node)} ({type(node).__name__}) is not among a cell's operations (matrix-vector "
                        "products, + and -, Hadamard products, numbers times vectors, transposes, functions)")

    def product(self, node: sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        timed = [f for f in sp.Mul.make_args(coeff) if _superscript_time(f) is not None]
        if len(timed) == 1:  # U x^{(t)}: the reader took the vector for a power, a scalar; it acts last
            coeff, mats = coeff / timed[0], [*mats, timed[0]]
        value = _number(sp.sympify(coeff))
        if value is None:
            raise self.fail(errors.UnsupportedConstruct,
                            f"{shown(node)}: the factor {shown(coeff)} is a scalar name; a scalar multiplying a "
                            "vector must be a number (make it a vector and use \\odot)")
        mats = list(mats)
        diag = next((k for k, m in enumerate(mats[:-1]) if _diagonal(m)), None)
        if diag is not None:  # diag(u) v = u \odot v: the diagonal matrix of a vector, applied
            right = [self.term(m) for m in mats[diag + 1:]]
            entrywise = Hadamard((self.term(mats[diag].arguments[0]),
                                  right[0] if len(right) == 1 else Product(tuple(right), node)), node)
            left = [self.term(m) for m in mats[:diag]]
            body = Product((*left, entrywise), node) if left else entrywise
            return body if value == 1 else Scaled(value, body, node)
        stacked = self.stacked(mats[-2], mats[-1], node) if len(mats) > 1 and _stack(mats[-1]) else None
        inner = [self.term(m) for m in (mats[:-2] if stacked is not None else mats)]
        inner += [stacked] if stacked is not None else []
        if len(inner) == 2 and _quantity(inner[0]) and isinstance(inner[1], Leaf) and inner[1].kind == PARAM \
                and not inner[1].vector:  # d2l's rows, X_t W_{xh}: the row x^T W is the column W^T x
            inner = [Transposed(inner[1], node), inner[0]]
        body = inner[0] if len(inner) == 1 else Product(tuple(inner), node)
        return body if value == 1 else Scaled(value, body, node)

    def stacked(self, matrix: Any, column: Any, node: Any) -> Sum:
        """``W [a; b]`` (``W \\cdot [a, b]``, a bmatrix of vectors): W acting on the stacked column is the sum of
        its column blocks acting on each part, ``W^{(a)} a + W^{(b)} b``; each block is a parameter of its own,
        named after W and the part (``W_f_h``, ``W_f_x``), so the derivation and the code need no new operation."""
        weight = self.term(matrix)
        if not isinstance(weight, Leaf) or weight.kind != PARAM or weight.vector:
            raise self.fail(errors.UnsupportedConstruct, f"{shown(node)}: a stacked column [a; b] is read after a "
                                                         "weight matrix only (W [a; b])")
        parts = list(column.blocks[:, 0]) if isinstance(column, sp.BlockMatrix) else list(column)
        terms, used = [], set()
        for part in parts:
            leaf = self.term(part)
            if not isinstance(leaf, Leaf) or leaf.kind not in (PREVIOUS, CURRENT, INPUT):
                raise self.fail(errors.UnsupportedConstruct, f"{shown(part)} in {shown(node)}: a stacked column "
                                                             "holds quantities (such as h_{t-1} and x_t)")
            suffix = leaf.name if leaf.kind != CURRENT else f"{leaf.name}t"
            if suffix in used:
                raise self.fail(errors.UnsupportedConstruct, f"{shown(node)}: {shown(part)} is stacked twice")
            used.add(suffix)
            name = self.identifier(f"{weight.name}_{suffix}", "parameter")
            block = Leaf(PARAM, name, False, f"{shown(weight.origin)}^{{({leaf.name})}}")
            terms.append(Product((block, leaf), node))
        return Sum(tuple(terms), node)

    def shift(self, shift: sp.Expr, node: Any) -> list:
        """``v + s`` where the reader kept s as a number: a multiple of the ones vector, or bias columns."""
        out = []
        for part in sp.Add.make_args(shift):
            value = _number(part)
            if value is not None:
                out.append(Scaled(value, Leaf(ONES, origin=node), node))
                continue
            coeff, rest = part.as_coeff_Mul()
            names = sp.Mul.make_args(rest)
            if len(names) != 1 or not isinstance(names[0], (sp.Symbol, sp.Indexed)):
                raise self.fail(errors.UnsupportedConstruct, f"{shown(part)} added to a vector in {shown(node)}")
            leaf = self.leaf(names[0])
            if leaf.kind != PARAM:
                raise self.fail(errors.UnsupportedConstruct,
                                f"{shown(names[0])} in {shown(node)} is read as a number; write it as a vector")
            out.append(leaf if coeff == 1 else Scaled(coeff, leaf, node))
        return out

    def entrywise(self, node: ElementwiseApplyFunction):
        fn, arg = node.function, self.term(node.expr)
        if isinstance(fn, sp.Lambda) and len(fn.variables) == 1:
            body, var = fn.expr, fn.variables[0]
            cls = body.func if body.args == (var,) else None
            if isinstance(body, sp.Max) and set(body.args) == {sp.S.Zero, var}:
                cls = relu
        else:
            cls = fn
        name = ENTRYWISE.get(cls)
        if name is None:
            raise self.unsupported(shown(fn), node)
        if name == "log" and isinstance(arg, Apply) and arg.function == "softmax":
            return Apply("logsoftmax", arg.arg, node)
        return Apply(name, arg, node)

    def applied(self, node: nt.Applied):
        name = NAMED.get(node.name.lower()) or self.activations.get(node.name)
        if name is None:
            raise self.unsupported(node.name, node)
        if len(node.arguments) != 1:
            raise self.fail(errors.UnsupportedConstruct, f"{shown(node)}: {node.name} takes one argument")
        return Apply(name, self.term(node.arguments[0]), node)

    def unsupported(self, name: str, node: Any) -> errors.CellError:
        return self.fail(errors.UnsupportedFunction,
                         f"unsupported function {name} in {shown(node)}; the supported functions are "
                         f"{', '.join(errors.SUPPORTED_FUNCTIONS)}")

    def skeleton(self, rhs: Any) -> Sum:
        """The quantities at t and t-1 a right side mentions, as a sum of leaves: enough to place an equation that
        could not be read among the others (its error is raised if a state needs it)."""
        found = []
        for node in sp.preorder_traversal(rhs) if isinstance(rhs, sp.Basic) else ():
            timed = isinstance(node, nt.Vec) or (isinstance(node, sp.Indexed) and len(node.indices) == 1)
            time = (node.time if isinstance(node, nt.Vec) else node.indices[0]) if timed else None
            if timed and _is_time(time):
                try:
                    found.append(self.leaf(node))
                except errors.CellError:
                    continue
        return Sum(tuple(found), rhs)

    def defined(self, lhs: Any) -> str | None:
        """The quantity an equation defines at t (``\\vec{h}_t``, ``z_t``, ``\\tilde{\\mathbf{h}}_t``), or None when
        its left side is no quantity (a loss ``L = ...``, a constant): such an equation is not part of the cell."""
        if isinstance(lhs, nt.Vec) and _is_time(lhs.time):
            leaf = self.quantity(lhs.base, lhs.time, lhs)
        elif isinstance(lhs, sp.Indexed) and len(lhs.indices) == 1 and _is_time(lhs.indices[0]):
            leaf = self.quantity(str(lhs.base.label), lhs.indices[0], lhs)
        elif isinstance(lhs, MatrixAt) and _is_time(lhs.time):
            leaf = self.quantity(lhs.name, lhs.time, lhs)
        elif _superscript_time(lhs) is not None:
            leaf = self.quantity(*_superscript_time(lhs), lhs)
        else:
            return None
        if leaf.kind == INPUT:
            raise self.fail(errors.BadName, "x_t is the input: it is read, never defined")
        if leaf.kind != CURRENT:
            raise self.fail(errors.UnsupportedConstruct, f"{shown(lhs)}: a cell defines its quantities at t")
        return leaf.name
