"""A cell's BPTT step as generated NumPy kernels, with what does not depend on the recursion moved out of the loop.

:func:`build` turns the derived recursion (:class:`~symrnn.autodiff.bptt.BPTT`) at a generic time t into the kernels
the loop over t calls (:mod:`symrnn.autodiff.loop`), each one :func:`symrnn.numeric.codegen.kernel`:

- inputs (hoisted, :func:`~symrnn.autodiff.hoisting.hoist_inputs`): the step's input-only parts for every t at once;
- forward: ``(parameters, states_{t-1}, x_t, inputs_t) -> states_t`` (plus ``ln h_t`` when the output is a softmax
  under cross-entropy, so that the loss never takes the log of an underflowed probability, plus the forward
  intermediates that the backward step needs, so that it does not recompute them);
- loss: ``(h_t, y_t) -> l_t`` summed over the batch (one dot product);
- backward: ``(parameters, states_{t-1}, x_t, states_t, y_t, rho_t, saved_t) -> (rho_{t-1}, stored factors,
  per-step gradient contributions, l_t)``;
- after (hoisted, :func:`~symrnn.autodiff.hoisting.split_gradients`): every gradient contribution ``sum_t A_t B_t^T``
  as one product over the stored factors of all steps.

``hoist=False`` keeps everything in the loop (no inputs or after kernel): the per-step reference the tests compare
the hoisted code with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.autodiff import hoisting
from symrnn.autodiff.bptt import BPTT
from symrnn.numeric import codegen
from symrnn.ops import LogSoftmax, Rule, Softmax, find
from symrnn.ops.registry import classes

# ---- rewriting the backward step before code generation ----------------------------------------------------------


def factor_products(expr: sp.Basic) -> sp.Basic:
    """``A B + A C`` -> ``A (B + C)`` and ``B A + C A`` -> ``(B + C) A``, bottom up: fewer matrix products."""
    if not isinstance(expr, MatrixExpr) or not expr.args or isinstance(expr, (sp.MatrixSymbol, nt.Vec)):
        return expr
    expr = expr.func(*[factor_products(a) for a in expr.args])
    if isinstance(expr, sp.MatAdd):  # a sum of sums (one per state) is one sum
        expr = sp.MatAdd(*[b for a in expr.args for b in (a.args if isinstance(a, sp.MatAdd) else (a,))])
    for side in (0, -1):
        if isinstance(expr, sp.MatAdd):
            expr = _factor_side(expr, side)
    return expr


def _factor_side(expr: sp.MatAdd, side: int) -> MatrixExpr:
    groups: dict[sp.Basic, list[tuple[int, MatrixExpr]]] = {}
    for n, term in enumerate(expr.args):
        coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (sp.S.One, [term])
        if len(mats) >= 2:
            rest = mats[1:] if side == 0 else mats[:-1]
            rest_expr = rest[0] if len(rest) == 1 else sp.MatMul(*rest)
            groups.setdefault(mats[side], []).append((n, rest_expr if coeff == 1 else coeff * rest_expr))
    shared = {key: members for key, members in groups.items() if len(members) > 1}
    if not shared:
        return expr
    used = {n for members in shared.values() for n, _ in members}
    terms = [term for n, term in enumerate(expr.args) if n not in used]
    for key, members in shared.items():
        inner = factor_products(sp.MatAdd(*[rest for _, rest in members]))
        terms.append(sp.MatMul(key, inner) if side == 0 else sp.MatMul(inner, key))
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def factor_hadamard(expr: sp.Basic) -> sp.Basic:
    """``A o C + B o C`` -> ``(A + B) o C``, bottom up: the factor shared by most terms first, then again inside.

    Back-propagation through a gate writes each path's error times the gate's derivative; summed, the paths share
    factors (``rho_c o c_{t-1} o f' + e o c_{t-1} o f'``), and each one taken out saves an entrywise pass per step.
    """
    if isinstance(expr, ElementwiseApplyFunction):  # one bound variable for all: equal functions compare equal
        (var,), body = expr.function.variables, expr.function.expr
        return nt.apply_entrywise(sp.Lambda(_BOUND, body.xreplace({var: _BOUND})), factor_hadamard(expr.expr))
    if not isinstance(expr, MatrixExpr) or not expr.args or isinstance(expr, (sp.MatrixSymbol, nt.Vec)):
        return expr
    expr = expr.func(*[factor_hadamard(a) for a in expr.args])
    return _take_out_shared(list(expr.args)) if isinstance(expr, sp.MatAdd) else expr


_BOUND = sp.Dummy("e")


def _hadamard_factors(term: MatrixExpr) -> tuple[sp.Expr, list[MatrixExpr]]:
    """``term`` as a scalar times entrywise factors (nested products flattened)."""
    coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (sp.S.One, [term])
    if len(mats) != 1:
        return coeff, [sp.MatMul(*mats)]
    stack, factors = [mats[0]], []
    while stack:
        node = stack.pop()
        if isinstance(node, sp.HadamardProduct):
            stack.extend(reversed(node.args))
        else:
            factors.append(node)
    return coeff, factors


def _take_out_shared(terms: list[MatrixExpr]) -> MatrixExpr:
    split = [_hadamard_factors(t) for t in terms]
    counts: dict[MatrixExpr, int] = {}
    for _, factors in split:
        if len(factors) > 1:
            for f in set(factors):
                counts[f] = counts.get(f, 0) + 1
    shared = min(counts, key=lambda f: (-counts[f], sp.default_sort_key(f)), default=None)  # the same in every run
    if shared is None or counts[shared] < 2:
        return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    inner, others = [], []
    for term, (coeff, factors) in zip(terms, split, strict=True):
        if len(factors) > 1 and shared in factors:
            rest = list(factors)
            rest.remove(shared)
            body = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
            inner.append(body if coeff == 1 else sp.MatMul(coeff, body))
        else:
            others.append(term)
    pulled = sp.HadamardProduct(shared, _take_out_shared(inner))
    return pulled if not others else sp.MatAdd(pulled, _take_out_shared(others))


def split_saved(exprs: list[MatrixExpr], forward: set, backward: set) -> tuple[list[MatrixExpr], dict]:
    """Replace forward intermediates in the backward step (gates such as ``sigma(W_z x + U_z h + b_z)``) by symbols.

    A subexpression is a forward intermediate if it depends on the step's inputs (states_{t-1}, x_t) but not on
    the backward quantities (states_t, y_t, rho_t).  Each is saved at the coarsest elementwise function or affine
    map, so ``z (1 - z)`` saves ``z`` once; how a node splits is its table entry's ``split`` (:mod:`symrnn.ops`).
    Returns the rewritten expressions and ``{symbol: intermediate}``.
    """
    saved: dict[MatrixExpr, sp.MatrixSymbol] = {}
    saving = classes(lambda r: r.saves_output)

    def save(node):
        if node not in saved:
            saved[node] = sp.MatrixSymbol(f"saved:{len(saved)}", *node.shape)  # ':' is no parameter's name
        return saved[node]

    def visit(node):
        if not isinstance(node, MatrixExpr) or not node.has(*forward):
            return node
        entry = find(node)
        if isinstance(entry, Rule) and entry.leaf:
            return node
        if node.has(*backward):
            return node.func(*[visit(a) for a in node.args])
        split = entry.split if isinstance(entry, Rule) else "whole"
        if split == "operands":
            return node.func(*[visit(a) for a in node.args])
        if split == "output" and _saves_output(node.args[-1]):  # an entrywise map of a saved map
            return node.func(*node.args[:-1], visit(node.args[-1]))
        if split == "scale":
            coeff, mats = node.as_coeff_matrices()
            if len(mats) == 1:
                return coeff * visit(mats[0])
        if split == "sum" and node.has(*saving):
            return sp.MatAdd(*[visit(a) for a in node.args])
        return save(node)

    out = [visit(e) for e in exprs]
    return out, {sym: node for node, sym in saved.items()}


def _saved_as_columns(exprs: list[MatrixExpr], saved: dict) -> tuple[list[MatrixExpr], dict]:
    """A saved row ``f(z)^T`` (one row per batch item) saved as the column ``f(z)``, used transposed: every saved
    array then has a column per batch item, as the loop stores them (a step's columns beside the others)."""
    columns, out = {}, {}
    for sym, node in saved.items():
        column = node.T.doit() if node.shape[0] == 1 and node.shape[1] != 1 else node
        if column is node or column.shape[1] != 1:
            out[sym] = node
            continue
        out[sp.MatrixSymbol(sym.name, *column.shape)] = column
        columns[sym] = sp.MatrixSymbol(sym.name, *column.shape).T
    return [e.xreplace(columns) for e in exprs], out


def _saves_output(node: sp.Basic) -> bool:
    entry = find(node)
    return isinstance(entry, Rule) and entry.saves_output


def check_matrix_level(b: BPTT) -> None:
    exprs = [*b.step.values(), *b.recurrent.values(), *b.param_grads.values()]
    for expr in exprs:
        if any(isinstance(node, sp.MatrixBase) for node in sp.preorder_traversal(expr)):
            raise NotImplementedError(
                f"the BPTT step of {b.cell.name!r} under {b.loss.name!r} contains an explicit matrix (an "
                "entry-level loss gradient); compiled code is matrix level only (use symrnn.bptt.run)")




# ---- the kernels -------------------------------------------------------------------------------------------------

CROSS_ENTROPY = "cross-entropy"
SQUARED_ERROR = "squared error"


def loss_candidates(h: MatrixExpr, y: MatrixExpr, log_h: MatrixExpr) -> dict[str, MatrixExpr]:
    """Matrix-level per-column losses ``(1 x B)``, by kind."""
    ones, e = sp.OneMatrix(1, h.shape[0]), sp.Dummy("e")
    return {
        CROSS_ENTROPY: -sp.MatMul(ones, sp.HadamardProduct(y, log_h)),
        # an elementwise square: SymPy turns (h - y) o (h - y) into a HadamardPower, which matcalc cannot expand
        SQUARED_ERROR: sp.MatMul(ones, nt.apply_entrywise(sp.Lambda(e, e**2 / 2), h - y)),
    }


@dataclass(frozen=True)
class Kernels:
    """The generated code of one cell and loss, as :mod:`symrnn.autodiff.loop` reads it (its ``Generated``)."""

    params: tuple[str, ...]
    states: tuple[str, ...]
    output: str
    log_output: bool
    n_saved: int
    n_deltas: int
    step_grads: tuple[str, ...]
    after_grads: tuple[str, ...]
    after_args: tuple[tuple[str, int], ...]
    inputs_kernel: Callable | None = field(repr=False)
    forward_kernel: Callable = field(repr=False)
    loss_kernel: Callable = field(repr=False)
    backward_kernel: Callable = field(repr=False)
    after_kernel: Callable | None = field(repr=False)
    inputs: dict = field(default_factory=dict, repr=False)  # symbol -> the input-only subexpression it names
    split: hoisting.Split | None = field(default=None, repr=False)
    scale: tuple[int, int, int] = (1, 1, 0)  # the loss's factor c T^k as (numerator, denominator of c, k)


def build(b: BPTT, kind: str, hoist: bool = True, scale: tuple[int, int, int] = (1, 1, 0)) -> Kernels:
    """The kernels of ``b`` under the loss ``kind`` (:data:`CROSS_ENTROPY` or :data:`SQUARED_ERROR`), summed over
    t; ``scale`` is the factor the loop multiplies the loss and the gradients by (:func:`.loop.loss_factor`)."""
    if not b.loss.summed:
        raise ValueError("kernels are generated from the recursion of the loss summed over t; the loop applies the "
                         "factor (compile_bptt does both)")
    cell = b.cell
    params = list(cell.symbols().values())
    prev, cur = list(cell.previous(nt.t - 1).values()), list(cell.current(nt.t).values())
    x, y, n = cell.input(nt.t), b.target, cell.n_output
    rhos = [b.rho(s) for s in cell.states]
    names = tuple(q.name for q in cell.params)

    backward = [factor_products(e) for e in [*(b.recurrent[s] for s in cell.states), *b.param_grads.values()]]
    backward, saved = split_saved(backward, {*prev, x}, {*cur, y, *rhos})
    backward, saved = _saved_as_columns(backward, saved)
    backward = [factor_hadamard(e) for e in backward]
    recurrent, grads = backward[:len(rhos)], dict(zip(b.param_grads, backward[len(rhos):], strict=True))

    out_expr = b.step[cell.output]
    log_output = kind == CROSS_ENTROPY and type(out_expr) is Softmax
    log_arg = sp.MatrixSymbol("log:h", n, 1)  # ':' keeps it apart from any state or parameter name
    stored = [*saved, *([log_arg] if log_output else [])]
    forward_outputs = [b.step[s] for s in cell.states] + list(saved.values())
    if log_output:
        log_h = LogSoftmax(out_expr.arg)
        forward_outputs[cell.states.index(cell.output)] = log_h.applyfunc(sp.exp)  # h = e^{ln h}: one softmax
        forward_outputs.append(log_h)
    inputs: dict = {}
    if hoist:
        forward_outputs, inputs = hoisting.hoist_inputs(forward_outputs, x, prev)
    name = cell.name
    inputs_kernel = codegen.kernel([*params, x], sp.Tuple(*inputs.values()), f"{name}_inputs", batch=[x]) \
        if inputs else None
    forward = codegen.kernel([*params, *prev, x, *inputs], sp.Tuple(*forward_outputs), f"{name}_forward",
                             batch=[*prev, x, *inputs])

    h = cur[cell.states.index(cell.output)]
    term = codegen.BatchSum(loss_candidates(h, y, log_arg if log_output else h.applyfunc(sp.log))[kind])
    loss_args = [h, y, *([log_arg] if log_output else [])]
    loss = codegen.kernel(loss_args, term, f"{name}_loss", batch=loss_args)

    varying = [*prev, x, *cur, y, *rhos, *stored]
    split = hoisting.split_gradients(grads, rhos, varying) if hoist else hoisting.Split({}, {}, dict(grads))
    backward_args = [*prev, x, *cur, y, *rhos, *stored]
    backward_kernel = codegen.kernel([*params, *backward_args],
                                     sp.Tuple(*recurrent, *split.deltas.values(), *split.step.values(), term),
                                     f"{name}_backward", batch=backward_args)
    after_kernel, after_args = None, ()
    if split.after:
        arrays = [(("x", 0), x), (("y", 0), y), *((("previous", i), v) for i, v in enumerate(prev)),
                  *((("current", i), v) for i, v in enumerate(cur)), *((("saved", i), v) for i, v in enumerate(stored)),
                  *((("delta", i), v) for i, v in enumerate(split.deltas))]
        used = [(tag, v) for tag, v in arrays if any(e.has(v) for e in split.after.values())]
        after_args = tuple(tag for tag, _ in used)
        after_kernel = codegen.kernel([*params, *(v for _, v in used)], sp.Tuple(*split.after.values()),
                                      f"{name}_after", batch=[v for _, v in used])
    return Kernels(names, tuple(cell.states), cell.output, log_output, len(saved), len(split.deltas),
                   tuple(split.step), tuple(split.after), after_args, inputs_kernel, forward, loss, backward_kernel,
                   after_kernel, inputs, split, scale)
