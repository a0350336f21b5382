"""A side of a BPTT claim, as the reader read it in the document's notation, evaluated on an :class:`Instance` at
one binding of t: quantities from the forward pass, ``y_t`` and ``x_t`` from the instance, parameters by name, and
every derivative of the loss (``\\frac{\\partial L}{\\partial h_{t+1}}``, ``\\nabla_W L``, an error the document
names such as ``\\delta_t``) by the instance's own differentiation, never by the claim.  The walk knows the nodes
the reader builds for such claims; anything else is :class:`Unknown`, reported as not checked."""

from __future__ import annotations

from collections.abc import Mapping

import mpmath
import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symrnn import notation as nt
from symrnn.audit.per_step_loss import is_step_term, step_time
from symrnn.audit.unrolled import DPS, Instance
from symrnn.autodiff import matcalc
from symrnn.latex.parse.objects import MatrixProduct
from symrnn.latex.printer import latex


class Unknown(ValueError):
    """A part of a claim the instance gives no value to (an unknown name, a function of its own)."""


class OutOfRange(ValueError):
    """A quantity at a time the instance does not have (``h_{T+1}``): this binding of t is skipped."""


def _time(expr, env: Mapping[sp.Symbol, int]) -> int:
    value = sp.sympify(expr).xreplace({k: sp.Integer(v) for k, v in env.items()})
    if not value.is_Integer:
        raise Unknown(f"the time {latex(expr)}")
    return int(value)


def _number(expr) -> mpmath.mpf:
    if not expr.is_number or not expr.is_finite:
        raise Unknown(f"the number {latex(expr)}")
    return mpmath.mpf(sp.Float(expr, DPS)._mpf_) if not expr.is_Integer else mpmath.mpf(int(expr))


MAX_RANGE = 64  #: the most terms, factors or powers a claim is evaluated with (the instances have T <= 4)
#: keys of a binding that choose a reading, not a time: Jacobians transposed (denominator layout), a product of
#: matrices taken from its first bound down to its second, and its factors multiplied in the reverse order
LAYOUT, DOWNWARD, REVERSED = (sp.Symbol("_denominator_layout"), sp.Symbol("_downward_products"),
                              sp.Symbol("_reversed_products"))


def _step_gradient(inst: Instance, node: nt.VecDerivative, env: Mapping[sp.Symbol, int]) -> np.ndarray | None:
    """``d l(q_tau, y_tau) / d q_tau`` of an abstract per-step loss: the instance's free vector at tau."""
    loss = inst.model.per_step
    if loss is None or not is_step_term(node.expr, loss):
        return None
    when = step_time(node.expr, loss)
    if not _same_quantity(node.variable, loss.quantity, when):
        raise Unknown(f"the derivative of {latex(node.expr)} in {latex(node.variable)}")
    k = _time(when, env)
    if not 1 <= k <= inst.T:
        raise OutOfRange(f"{loss.quantity} at {k}")
    return inst.step_grads[k - 1]


def _same_quantity(var, name: str, when) -> bool:
    if isinstance(var, nt.Vec):
        return var.base == name and sp.expand(var.time - when) == 0
    return isinstance(var, sp.Indexed) and str(var.base.label) == name and sp.expand(var.indices[0] - when) == 0


def quantity_at(node) -> tuple[str, object] | None:
    """``(name, time)`` of a quantity at a time (a vector ``h_k`` or a plain ``h_k``)."""
    if isinstance(node, nt.Vec):
        return node.base, node.time
    if isinstance(node, sp.Indexed) and len(node.indices) == 1:
        return str(node.base.label), node.indices[0]
    return None


def jacobian(inst: Instance, num, den, env: Mapping[sp.Symbol, int]) -> np.ndarray:
    """``\\frac{\\partial a_k}{\\partial b_j}`` between two quantities of the cell, through the forward pass (in
    the denominator layout when the binding says so)."""
    a, b = quantity_at(num), quantity_at(den)
    if a is None or b is None or a[0] not in inst.model.quantities or b[0] not in inst.model.quantities:
        raise Unknown(f"the derivative of {latex(num)} in {latex(den)}")
    out, wrt = (a[0], _time(a[1], env)), (b[0], _time(b[1], env))
    try:
        jac = inst.jacobian(out, wrt)
    except KeyError:
        raise OutOfRange(f"d{out[0]}_{out[1]}/d{wrt[0]}_{wrt[1]}") from None
    return jac.T if env.get(LAYOUT) else jac


def derivative(inst: Instance, node, env: Mapping[sp.Symbol, int]) -> np.ndarray:
    """``dL/dq_tau`` (zero past the last step) or ``dL/dW``, computed by the instance; the gradient of an abstract
    per-step loss; a Jacobian between two of the cell's quantities."""
    model = inst.model
    if isinstance(node, nt.TotalDerivative):
        return jacobian(inst, node.args[0], node.args[1], env)
    grad = _step_gradient(inst, node, env)
    if grad is not None:
        return grad
    if quantity_at(node.expr) is not None and quantity_at(node.expr)[0] in model.quantities:
        return jacobian(inst, node.expr, node.variable, env)
    if not isinstance(node.expr, sp.Symbol) or str(node.expr) != model.loss_name:
        raise Unknown(f"the derivative of {latex(node.expr)} (the loss is {model.loss_name})")
    var = node.variable
    if isinstance(var, sp.MatrixSymbol) and str(var.name) in model.params:
        return inst.gradient(str(var.name))
    if isinstance(var, nt.Vec) and var.base in model.quantities:
        k = _time(var.time, env)
        if k == inst.T + 1:
            return np.array([[mpmath.mpf(0)] for _ in range(model.n)], dtype=object)
        if not 1 <= k <= inst.T:
            raise OutOfRange(f"{var.base} at {k}")
        return inst.total(var.base, k)
    raise Unknown(f"the derivative in {latex(var)}")


def _vector(inst: Instance, node: nt.Vec, env: Mapping[sp.Symbol, int]) -> np.ndarray:
    model, name = inst.model, node.base
    if name in model.aliases:
        alias = model.aliases[name]
        return derivative(inst, alias.xreplace({nt.t: node.time}), env)
    k = _time(node.time, env)
    if name in ("x", "y"):
        if not 1 <= k <= inst.T:
            raise OutOfRange(f"{name} at {k}")
        return inst.xs[k - 1] if name == "x" else inst.target(k)
    if name in model.quantities:
        if (name, k) not in inst.values:
            raise OutOfRange(f"{name} at {k}")
        return inst.values[(name, k)]
    if name in model.params:
        return inst.params[name]
    raise Unknown(f"the quantity {latex(node)}, which the cell does not define")


def _function(node: ElementwiseApplyFunction, arg: np.ndarray) -> np.ndarray:
    leaf = sp.MatrixSymbol("_arg", *arg.shape)
    return matcalc.evaluate(ElementwiseApplyFunction(node.function, leaf), {leaf: arg}, "mpmath")


def _product(values: list) -> object:
    out = values[0]
    for v in values[1:]:
        if isinstance(out, np.ndarray) and isinstance(v, np.ndarray):
            if out.shape[1] != v.shape[0]:
                raise ValueError(f"a product of a {out.shape[0]} x {out.shape[1]} and a {v.shape[0]} x "
                                 f"{v.shape[1]} matrix")
            out = out @ v
        else:
            out = out * v
    return out


def _range(limits, inst: Instance, env: dict, written: bool = False) -> tuple[sp.Symbol, list[int]]:
    """The index of a sum or product and its values in the order taken: up from the lower bound (none when it is
    above the upper), or, for bounds kept as written under :data:`DOWNWARD`, down from the first to the second."""
    var, lo_, hi_ = limits
    if var != nt.t and var in env:
        raise Unknown(f"a second index named {latex(var)}")
    lo, hi = (_time(x.xreplace({nt.T: inst.T}), env) for x in (lo_, hi_))
    if abs(hi - lo) > MAX_RANGE:
        raise Unknown(f"a sum or product over {abs(hi - lo) + 1} values of {latex(var)}")
    if written and env.get(DOWNWARD):
        return var, list(range(lo, hi - 1, -1))
    return var, list(range(lo, hi + 1))


def _sum(node, inst: Instance, env: dict) -> object:
    if isinstance(node, nt.StateSum):
        var, ks, body = node.index, list(range(1, inst.T + 1)), node.expr
        if var != nt.t and var in env:
            raise Unknown(f"a sum over {latex(var)}")
    else:
        (var, ks), body = _range(node.limits[0], inst, env), node.function
    return sum((value(body, inst, {**env, var: k}) for k in ks), start=0)


def _prod(node, inst: Instance, env: dict) -> object:
    """A product over an index: its factors multiplied in the order its index takes (reversed under
    :data:`REVERSED`); the identity when there are none."""
    if len(node.limits) != 1:
        raise Unknown(f"a product over {len(node.limits)} indices")
    var, ks = _range(node.limits[0], inst, env, isinstance(node, MatrixProduct))
    factors = [value(node.function, inst, {**env, var: k}) for k in ks]
    if env.get(REVERSED):
        factors.reverse()
    if not factors:
        return mpmath.mpf(1)
    return _product(factors)


def _power(node: sp.MatPow, inst: Instance, env: dict) -> np.ndarray:
    """A square matrix to a power that may depend on the binding (``(W^\\top)^{T-i}``); the power 0 is I."""
    base, k = value(node.args[0], inst, env), _time(node.args[1], env)
    if not isinstance(base, np.ndarray) or base.shape[0] != base.shape[1]:
        raise ValueError("a power of a matrix that is not square")
    if not 0 <= k <= MAX_RANGE:
        raise Unknown(f"the power {k} in {latex(node)}")
    out = np.array([[mpmath.mpf(int(r == c)) for c in range(base.shape[1])] for r in range(base.shape[0])],
                   dtype=object)
    for _ in range(k):
        out = out @ base
    return out


def value(node, inst: Instance, env: dict) -> object:  # noqa: C901 - one branch per node the reader builds
    """``node`` at the binding ``env`` (``{t: 2}``): a NumPy array of mpmath numbers, or a number."""
    with mpmath.workdps(DPS):
        if isinstance(node, (nt.VecDerivative, nt.TotalDerivative)):
            return derivative(inst, node, env)
        if isinstance(node, sp.Symbol) and node in env:
            return mpmath.mpf(env[node])
        if isinstance(node, (sp.Product, MatrixProduct)):
            return _prod(node, inst, env)
        if isinstance(node, sp.MatPow):
            return _power(node, inst, env)
        if isinstance(node, nt.Vec):
            return _vector(inst, node, env)
        if isinstance(node, sp.MatrixSymbol):
            if str(node.name) in inst.model.params:
                return inst.params[str(node.name)]
            raise Unknown(f"the name {latex(node)}, which the cell does not use")
        if isinstance(node, sp.Indexed) and len(node.indices) == 1:
            return _vector(inst, nt.Vec(str(node.base.label), node.indices[0], inst.model.n), env)
        if isinstance(node, (sp.Sum, nt.StateSum)):
            return _sum(node, inst, env)
        if isinstance(node, (sp.MatAdd, sp.Add)):
            return sum((value(a, inst, env) for a in node.args), start=0)
        if isinstance(node, (sp.MatMul, sp.Mul)):
            return _product([value(a, inst, env) for a in node.args])
        if isinstance(node, (sp.HadamardProduct, nt.Juxtaposed)):
            out = value(node.args[0], inst, env)
            for a in node.args[1:]:
                out = out * value(a, inst, env)
            return out
        if isinstance(node, sp.HadamardPower) or (isinstance(node, sp.Pow)
                                                  and not isinstance(node.base, sp.MatrixExpr)):
            base, exp = value(node.args[0], inst, env), _number(node.args[1])
            return base ** exp if not isinstance(base, np.ndarray) else np.vectorize(lambda e: e ** exp,
                                                                                     otypes=[object])(base)
        if isinstance(node, sp.Transpose):
            inner = value(node.arg, inst, env)
            return inner.T if isinstance(inner, np.ndarray) else inner  # an empty product is the number 1
        if isinstance(node, nt.VecShift):
            return value(node.vector, inst, env) + _number(node.shift)
        if isinstance(node, ElementwiseApplyFunction):
            return _function(node, value(node.expr, inst, env))
        if isinstance(node, nt.Parenthesised):
            return value(node.args[0], inst, env)
        if isinstance(node, nt.Applied) and node.name.lower() == "diag" and len(node.arguments) == 1:
            v = value(node.arguments[0], inst, env)  # diag(v): the diagonal matrix of a vector
            if not isinstance(v, np.ndarray) or v.ndim != 2 or v.shape[1] != 1:
                raise Unknown(latex(node))
            out = np.full((v.shape[0], v.shape[0]), mpmath.mpf(0), dtype=object)
            for k in range(v.shape[0]):
                out[k, k] = v[k, 0]
            return out
        if isinstance(node, (sp.OneMatrix, sp.ZeroMatrix)):
            fill = mpmath.mpf(1 if isinstance(node, sp.OneMatrix) else 0)
            return np.full((int(node.shape[0]), int(node.shape[1])), fill, dtype=object)
        if isinstance(node, sp.Expr) and node.is_number:
            return _number(node)
        raise Unknown(latex(node) if isinstance(node, sp.Basic) else type(node).__name__)


TOLERANCE = mpmath.mpf("1e-15")  #: relative: the instance's derivatives are good to about 1e-30


def close(a, b, tol: mpmath.mpf = TOLERANCE) -> bool:
    """Two values equal to within the instance's accuracy (relative to their size)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b) if a.size == 1 or b.size == 1 else (a, None)
        if b is None:
            return False
    with mpmath.workdps(DPS):
        scale = 1 + max(abs(x) for x in [*a.flat, *b.flat])
        return all(abs(x - y) <= tol * scale for x, y in zip(a.flat, b.flat))
