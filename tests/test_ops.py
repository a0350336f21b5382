"""The table of operations (:mod:`symrnn.ops`): every registered rule checked on its own against an independent
derivative (entry-level ``sp.diff`` of SymPy's own explicit form, and 50-digit central differences in a random
direction, as autograd's ``check_grads``), and a new operation added through the public registry alone."""

from __future__ import annotations

import random

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn import ops
from symrnn.autodiff import bptt, matcalc
from symrnn.autodiff.training import compile_bptt
from symrnn.latex.printer import latex
from symrnn.models import losses
from symrnn.models.cells import Cell, Param
from symrnn.numeric import codegen
from symrnn.ops.evaluation import Numbers
from symrnn.ops.registry import classes

N = 3
A, B = sp.MatrixSymbol("A", N, N), sp.MatrixSymbol("B", N, N)
M = sp.MatrixSymbol("M", N, 2)  # a batch of two columns
u, v, w = (sp.MatrixSymbol(name, N, 1) for name in "uvw")

#: One node per rule, its operands leaves, so that the rule is the only thing under test.
EXAMPLES = {
    sp.MatAdd: lambda: sp.MatAdd(A, B),
    sp.MatMul: lambda: sp.MatMul(sp.Rational(-3, 2), A, B, v),
    sp.HadamardProduct: lambda: sp.HadamardProduct(u, v, w),
    sp.Transpose: lambda: sp.Transpose(A),
    sp.MatPow: lambda: sp.MatPow(A, 3),
    sp.HadamardPower: lambda: sp.HadamardPower(v, 3),
    ops.Softmax: lambda: ops.Softmax(M),
    ops.LogSoftmax: lambda: ops.LogSoftmax(M),
    ops.Ratio: lambda: ops.Ratio(v, w),
}
POSITIVE = {sp.log, ops.Ratio}  # operands drawn positive


def _table() -> tuple:
    """The table of operations, entry by entry (identities), as the public registry shows it."""
    rules = ops.registry.classes(lambda r: True)
    return tuple(map(id, ops.registry.scalars())), rules, tuple(id(ops.find(c)) for c in rules)


@pytest.fixture(autouse=True)
def _table_unchanged():
    """No test leaves an entry in the (global) table: test order cannot change results."""
    before = _table()
    yield
    assert _table() == before, "a test left the table of operations changed"


def _cases() -> list:
    cases = []
    for cls in sorted(classes(lambda r: r.vjp is not None), key=lambda c: c.__name__):
        if cls is ElementwiseApplyFunction:
            cases += [pytest.param(s.func, id=f"entrywise-{s.func.__name__}") for s in ops.registry.scalars()]
        else:
            cases.append(pytest.param(cls, id=cls.__name__))
    return cases


def _example(key):
    if isinstance(key, type) and key in EXAMPLES:
        return EXAMPLES[key]()
    if ops.find(key) is not None and isinstance(ops.find(key), ops.Scalar):
        return v.applyfunc(key)
    raise AssertionError(f"no example for the rule of {key}: add one to EXAMPLES")


def _sympy_explicit(expr, entries: dict) -> sp.Matrix:
    """SymPy's own entries of ``expr`` (``_entry``), with the leaves replaced by explicit matrices."""
    return sp.Matrix(expr.xreplace({k: sp.ImmutableMatrix(m) for k, m in entries.items()}).as_explicit())


def _unfold(expr: sp.Expr) -> sp.Expr:
    """Functions that the table defines replaced by their definitions, so that ``sp.diff`` does not use their own
    ``fdiff`` (the derivative under test)."""
    while True:
        swap = {f: ops.lookup(f).definition(*f.args) for f in expr.atoms(sp.Function)
                if isinstance(ops.find(f), ops.Scalar) and ops.find(f).definition is not None}
        if not swap:
            return expr
        expr = expr.xreplace(swap)


def _close(a, b, digits: int = 40) -> bool:
    return abs(sp.N(a - b, 50)) <= sp.Float(10) ** -digits * max(1, abs(sp.N(b, 50)))


def check_rule(node, positive: bool = False, seed: int = 0) -> None:
    """The rule of ``node`` (all of whose operands are leaves) against entry-level derivatives and mpmath."""
    entry = ops.lookup(node)
    rng = random.Random(seed)
    leaves = sorted(node.atoms(sp.MatrixSymbol), key=str)
    G = sp.MatrixSymbol("G", *node.shape)  # noqa: N806
    entries = {L: sp.Matrix(*L.shape, lambda r, c, L=L: sp.Symbol(f"{L.name}{r}{c}", real=True)) for L in [*leaves, G]}

    def draw():
        k = rng.choice([-1, 1]) if not positive else 1
        return k * sp.Rational(rng.randint(5, 20), 10)
    point = {s: draw() for m in entries.values() for s in m}
    F = _sympy_explicit(node, entries).applyfunc(_unfold)  # noqa: N806

    got = entry.explicit(node, lambda op: sp.ImmutableMatrix(entries[op]))  # the explicit form
    assert all(_close(a.xreplace(point), b.xreplace(point)) for a, b in zip(got, F, strict=True)), "explicit"

    inner = sum(entries[G][i] * F[i] for i in range(len(F)))  # <G, F>: its gradient is the VJP
    vjps = {L: sp.zeros(*L.shape) for L in leaves}
    for operand, g in entry.vjp(node, G):
        vjps[operand] += _sympy_explicit(g, entries)
    for L in leaves:
        for k, s in enumerate(entries[L]):
            assert _close(vjps[L][k].xreplace(point), sp.diff(inner, s).xreplace(point)), f"vjp in {L}[{k}]"

    mpmath.mp.dps = 50
    numbers, eps = Numbers("mpmath"), mpmath.mpf(10) ** -20
    tangent = {L: sp.Matrix(*L.shape, lambda r, c: sp.Rational(rng.randint(-9, 9), 7)) for L in leaves}

    def value(sign):  # the rule's own evaluation at point + sign * eps * tangent
        def recurse(op):
            m, t = entries[op].xreplace(point), tangent.get(op, sp.zeros(*op.shape))
            return np.array([[numbers.number(m[r, c]) + sign * eps * numbers.number(t[r, c]) for c in range(op.cols)]
                             for r in range(op.rows)], dtype=object)
        return entry.evaluate(node, recurse, numbers)

    centre = value(0)
    assert all(_close(sp.Float(str(centre[r, c]), 50), F[r, c].xreplace(point))
               for r in range(F.rows) for c in range(F.cols)), "evaluate"
    gval = np.array(entries[G].xreplace(point).tolist(), dtype=object)
    directional = ((value(1) - value(-1)) * gval).sum() / (2 * eps)
    expected = sum(vjps[L][k].xreplace(point) * tangent[L][k] for L in leaves for k in range(len(tangent[L])))
    assert _close(sp.Float(str(directional), 50), expected, 30), "central differences"


@pytest.mark.parametrize("key", _cases())
def test_each_rule_alone(key):
    check_rule(_example(key), positive=key in POSITIVE)


@pytest.mark.parametrize("entry", ops.registry.scalars(), ids=lambda s: s.func.__name__)
def test_each_scalar_function(entry):
    check_scalar(entry.func, positive=entry.func in POSITIVE)


def check_scalar(f, positive: bool = False) -> None:
    """Derivative, derivative by output, NumPy code, evaluation and LaTeX of a scalar function in the table."""
    entry, z = ops.lookup(f), sp.Symbol("z", real=True)
    mpmath.mp.dps = 50
    numbers, eps = Numbers("mpmath"), mpmath.mpf(10) ** -20
    points = [sp.Rational(k, 7) for k in ((3, 9, 15) if positive else (-15, -4, 3, 11))]
    for p in points:
        x = numbers.number(p)
        fd = (numbers.apply(f, np.array([x + eps]))[0] - numbers.apply(f, np.array([x - eps]))[0]) / (2 * eps)
        assert _close(sp.Float(str(fd), 50), entry.derivative(z).subs(z, p), 30), f"derivative at {p}"
        if entry.by_output is not None:
            assert _close(entry.by_output(f(p)), entry.derivative(z).subs(z, p)), f"by_output at {p}"
    kernel = codegen.kernel([v], v.applyfunc(f), "k")
    xs = np.array([[float(p)] for p in points[:N]])
    want = [float(numbers.apply(f, np.array([numbers.number(p)]))[0]) for p in points[:N]]
    assert np.allclose(np.ravel(kernel(xs)), want, rtol=1e-13, atol=1e-15), "NumPy code"
    shown = latex(f(z)) if "_lecture_latex" in vars(f) else latex(v.applyfunc(f))
    assert entry.latex in shown, shown


# ---- the table itself -------------------------------------------------------------------------------------------


def test_lookup_walks_the_class_hierarchy_and_names_missing_entries():
    assert ops.lookup(ops.LogSoftmax).vjp is not ops.lookup(ops.Softmax).vjp  # its own entry
    one = ops.find(sp.HadamardProduct(u, v).applyfunc(sp.exp))
    assert one is ops.lookup(ElementwiseApplyFunction)
    with pytest.raises(ops.UnknownOperation, match="Kron"):
        ops.lookup(sp.KroneckerProduct)
    with pytest.raises(TypeError, match="no differentiation rule for KroneckerProduct"):
        matcalc.vjp(sp.KroneckerProduct(A, B), sp.MatrixSymbol("G", N * N, N * N), [A])
    with pytest.raises(ValueError, match="split"):
        ops.Rule(sp.KroneckerProduct, split="sometimes")


@pytest.fixture
def scratch():
    """``scratch(name, definition, ...)``: ``ops.scalar_function`` whose entries leave the table when the test ends."""
    made = []

    def make(*args, **kwargs):
        made.append(ops.scalar_function(*args, **kwargs))
        return made[-1]
    yield make
    for cls in reversed(made):
        ops.unregister(cls)


def test_registered_entries_are_undone():
    shown = sp.Function("blip")
    before = ops.find(sp.tanh)
    other = ops.Scalar(sp.tanh, r"\operatorname{th}")
    with ops.registered(ops.Scalar(shown, r"\operatorname{blop}"), other):
        assert ops.find(shown).latex == r"\operatorname{blop}" and ops.find(sp.tanh) is other
        assert latex(M.applyfunc(shown)) == r"\operatorname{blop}\left(M\right)"
        assert latex(M.applyfunc(sp.tanh)) == r"\operatorname{th}\left(M\right)"
    assert ops.find(shown) is None and ops.find(sp.tanh) is before  # the built-in entry is back
    assert latex(M.applyfunc(shown)) == r"blip\left(M\right)"
    assert latex(M.applyfunc(sp.tanh)) == r"\tanh\left(M\right)"
    with pytest.raises(LookupError, match="not in the table"):
        ops.unregister(other)
    entry = ops.register(ops.Scalar(shown, r"\beta"))
    ops.unregister(shown)  # by class
    assert ops.find(shown) is None and entry not in ops.registry.scalars()


def test_a_registered_function_prints_its_registered_name_at_matrix_level(scratch):
    wiggle = scratch("wiggle", lambda z: z + sp.sin(z), latex=r"\operatorname{wig}")
    assert latex(M.applyfunc(wiggle)) == r"\operatorname{wig}\left(M\right)"
    assert latex(nt.Applied("wiggle", M)) == r"\operatorname{wig}\left(M\right)"  # by name, as the parser gives it
    assert latex(nt.Applied("sigma", M, M)) == r"\sigma\left(M, M\right)"
    assert latex(nt.Applied("softmax", M)) == r"\operatorname{softmax}\left(M\right)"  # not registered


def test_a_wrong_rule_is_caught(scratch):
    wrong = scratch("softplus_wrong", lambda z: sp.log(1 + sp.exp(z)), derivative=sp.exp)
    with pytest.raises(AssertionError, match="derivative"):
        check_scalar(wrong)
    with pytest.raises(AssertionError, match="vjp"):
        check_rule(v.applyfunc(wrong))


# ---- a new operation, through the public registry alone ---------------------------------------------------------


def swish_numpy(z):
    return z / (1 + np.exp(-z))




def swish_cell(f, n: int = 3, d: int = 2) -> Cell:
    def build(p, prev, x):
        return {"h": (p["U"] * prev["h"] + p["W"] * x + p["b"]).applyfunc(f)}
    return Cell(f"{f.__name__}_rnn", n, d, (Param("U", n, n), Param("W", n, d), Param("b", n, 1)), build)


def _problem(n=3, d=2, T=4, B=2, seed=3):  # noqa: N803
    rng = np.random.default_rng(seed)
    params = {"U": rng.normal(0, 0.7, (n, n)), "W": rng.normal(0, 0.7, (n, d)), "b": rng.normal(0, 0.5, (n, 1))}
    return params, rng.normal(0, 1, (T, d, B)), rng.normal(0, 1, (T, n, B))


def hand_loss(params, xs, ys) -> float:
    """The swish RNN under squared error, written out in NumPy for this test."""
    h, total = np.zeros((params["U"].shape[0], xs.shape[2])), 0.0
    for x, y in zip(xs, ys, strict=True):
        h = swish_numpy(params["U"] @ h + params["W"] @ x + params["b"])
        total += 0.5 * ((h - y) ** 2).sum()
    return total


def central_differences(params, xs, ys, eps=1e-6) -> dict:
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for idx in np.ndindex(*value.shape):
            up, down = ({k: a.copy() for k, a in params.items()} for _ in range(2))
            up[name][idx] += eps
            down[name][idx] -= eps
            grad[idx] = (hand_loss(up, xs, ys) - hand_loss(down, xs, ys)) / (2 * eps)
        out[name] = grad
    return out


def test_a_new_entrywise_function_works_everywhere(scratch):
    swish = scratch("swish", lambda z: z * ops.sigmoid(z), numpy="{x}*(0.5*(1 + {numpy}.tanh(0.5*{x})))",
                    latex=r"\operatorname{swish}")
    check_scalar(swish)
    check_rule(v.applyfunc(swish))
    cell, loss = swish_cell(swish), losses.squared_error()
    b = bptt.derive(cell, loss)
    z = sp.Symbol("z", real=True)
    slopes = [n.function(z) for n in sp.preorder_traversal(b.param_grads["U"])
              if isinstance(n, ElementwiseApplyFunction)]
    assert sp.expand(z * ops.sigmoid(z)).diff(z) in slopes  # the slope, from the registered function alone

    params, xs, ys = _problem()
    got_loss, grads = compile_bptt(cell, loss).loss_and_grads(params, xs, ys)
    fd = central_differences(params, xs, ys)
    assert abs(got_loss - hand_loss(params, xs, ys)) <= 1e-12 * hand_loss(params, xs, ys)
    for name in params:
        assert np.allclose(grads[name], fd[name], rtol=1e-6, atol=1e-8), name

    run = bptt.run(b, params, list(xs[:, :, :1]), list(ys[:, :, :1]), {"h": np.zeros((3, 1))}, mode="numpy")
    one = central_differences(params, xs[:, :, :1], ys[:, :, :1])
    assert all(np.allclose(np.asarray(run.grads[k], dtype=float), one[k], rtol=1e-6, atol=1e-8) for k in params)

    mpmath.mp.dps = 50
    step = cell.step()["h"]
    vals = {p.symbol: np.array(params[p.name].tolist(), dtype=object) for p in cell.params}
    vals.update({cell.previous()["h"]: np.full((3, 1), mpmath.mpf(0), dtype=object), cell.input(): xs[0][:, :1]})
    h1 = matcalc.evaluate(step, vals, "mpmath")
    assert np.allclose(np.asarray(h1, dtype=float), swish_numpy(params["W"] @ xs[0][:, :1] + params["b"]), rtol=1e-14)

    assert latex(swish(sp.Symbol("z"))) == r"\operatorname{swish}\left(z\right)"
    assert "swish" in latex(step)


def test_a_new_function_with_a_wrong_derivative_fails_the_gradient_check(scratch):
    wrong = scratch("swish_wrong", lambda z: z * ops.sigmoid(z), derivative=ops.sigmoid)
    params, xs, ys = _problem()
    _, grads = compile_bptt(swish_cell(wrong), losses.squared_error()).loss_and_grads(params, xs, ys)
    fd = central_differences(params, xs, ys)
    assert not all(np.allclose(grads[name], fd[name], rtol=1e-6, atol=1e-8) for name in params)


# ---- a new node class, through the public registry alone --------------------------------------------------------


class Centre(sp.MatrixExpr):
    """``a - mean(a)``, column by column: a node that SymPy does not have."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)

    def _entry(self, i, j, **kwargs):
        n = self.shape[0]
        return self.arg[i, j] - sp.Add(*[self.arg[r, j] for r in range(n)]) / n

    def _lecture_latex(self, printer) -> str:
        return rf"\operatorname{{centre}}\left({printer._print(self.arg)}\right)"


def _centre_explicit(node, recurse):
    a = recurse(node.arg)
    return a - sp.ones(a.rows, a.rows) * a / a.rows


CENTRE = ops.Rule(
    Centre,
    vjp=lambda node, g: [(node.arg, Centre(g))],  # I - 1 1^T / n is symmetric
    explicit=_centre_explicit,
    evaluate=lambda node, recurse, numbers: (lambda a: a - a.sum(axis=0, keepdims=True) / a.shape[0])(
        recurse(node.arg)),
    numpy=lambda node, printer: f"(lambda _c: _c - _c.mean(axis=0, keepdims=True))({printer._print(node.arg)})")


@pytest.fixture
def centre():
    with ops.registered(CENTRE):
        yield Centre


def test_a_new_node_class_works_everywhere(centre):
    check_rule(Centre(M))
    n, d = 3, 2

    def build(p, prev, x):
        return {"h": Centre(p["U"] * prev["h"] + p["W"] * x + p["b"]).applyfunc(sp.tanh)}
    cell, loss = Cell("centred", n, d, (Param("U", n, n), Param("W", n, d), Param("b", n, 1)), build), \
        losses.squared_error()
    b = bptt.derive(cell, loss)
    assert any(isinstance(e, Centre) for e in sp.preorder_traversal(b.param_grads["U"]))

    def hand(params, xs, ys):
        h, total = np.zeros((n, xs.shape[2])), 0.0
        for x, y in zip(xs, ys, strict=True):
            a = params["U"] @ h + params["W"] @ x + params["b"]
            h = np.tanh(a - a.mean(axis=0))
            total += 0.5 * ((h - y) ** 2).sum()
        return total

    params, xs, ys = _problem()
    got_loss, grads = compile_bptt(cell, loss).loss_and_grads(params, xs, ys)
    assert abs(got_loss - hand(params, xs, ys)) <= 1e-12 * hand(params, xs, ys)
    eps = 1e-6
    for name, value in params.items():
        for idx in np.ndindex(*value.shape):
            up, down = ({k: a.copy() for k, a in params.items()} for _ in range(2))
            up[name][idx] += eps
            down[name][idx] -= eps
            fd = (hand(up, xs, ys) - hand(down, xs, ys)) / (2 * eps)
            assert abs(grads[name][idx] - fd) <= 1e-8 + 1e-6 * abs(fd), (name, idx)

    run = bptt.run(b, params, list(xs[:, :, :1]), list(ys[:, :, :1]), {"h": np.zeros((n, 1))}, mode="mpmath")
    _, one = compile_bptt(cell, loss).loss_and_grads(params, xs[:, :, :1], ys[:, :, :1])
    assert all(np.allclose(np.asarray(run.grads[k], dtype=float), one[k], rtol=1e-9) for k in params)
    assert r"\operatorname{centre}\left(" in latex(cell.step()["h"])


def test_the_reference_evaluator_takes_any_real_constant():
    from symrnn.ops.evaluation import Numbers

    e = Numbers("mpmath").number(sp.exp(-1))
    assert abs(e - mpmath.e ** -1) < mpmath.mpf(10) ** (-mpmath.mp.dps + 2)
    assert Numbers("numpy").number(sp.exp(sp.Integer(10) ** 10)) == np.inf  # too large for a float
    with pytest.raises(TypeError, match="not a real number"):
        Numbers("numpy").number(sp.I)
