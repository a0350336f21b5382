"""A side of a chain-rule claim about abstract functions, valued on the unrolled model (:mod:`.abstract_model`).

Every value is a SymPy matrix (a scalar is 1 x 1).  A derivative is computed, never taken from the claim: of a
quantity, the loss or a function applied to something that is not one of its arguments, by SymPy's chain rule on
the composed undefined functions (``sp.diff``, with respect to a parameter's entries or to a quantity made a free
symbol at one step); of a function with respect to one of its arguments (``\\partial_h f(x_t, h_{t-1}, w)``), the
partial at that point.  Each derivative of ``f``, ``g`` or ``l`` at a point becomes one symbol, the same on both
sides, so two sides are equal exactly when the chain rule makes them equal for every ``f``, ``g``, ``l``.

Jacobians are in numerator layout (rows: entries of what is differentiated); ``den`` transposes every derivative and
``mixed`` only the derivatives of a scalar (gradients as columns).  A product ``\\prod`` of matrices is taken with
its index descending from left to right, or ascending.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.abstract_model import AbstractModel, Ref, Unrolled, application, component, ref


class Unknown(Exception):
    """Something in the claim symrnn cannot value (the message says what)."""


class OutOfRange(Exception):
    """A time outside the unrolling (before step 0 or after T)."""


@dataclass(frozen=True)
class Setting:
    """One binding: the number of steps, the value of t and of the bound indices, the layout, the product order."""

    big_t: int
    env: tuple[tuple[str, int], ...]
    layout: str = "num"
    descending: bool = True

    def at(self, **more: int) -> Setting:
        return Setting(self.big_t, tuple({**dict(self.env), **more}.items()), self.layout, self.descending)

    @property
    def names(self) -> frozenset:
        return frozenset(dict(self.env))


_DERIVATIVES = (nt.TotalDerivative, nt.VecDerivative)
MAX_TERMS = 50  #: the unrolling has a few steps: a longer sum or product, or a higher power, is not valued


class Values:
    """Values of claim sides on one model unrolled over ``steps`` steps."""

    def __init__(self, model: AbstractModel, steps: int):
        self.model, self.steps = model, steps
        self._unrolled: dict = {}
        self._symbols: dict = {}
        self._jacobians: dict = {}

    def unrolled(self, cut: tuple[str, int] | None = None) -> Unrolled:
        if cut not in self._unrolled:
            try:
                self._unrolled[cut] = Unrolled(self.model, self.steps, cut)
            except KeyError as exc:  # a definition reads a time the unrolling does not have (h_{t-10^{20}})
                raise Unknown(f"the model: it reads {exc.args[0]}, outside an unrolling of {self.steps} steps") \
                    from None
        return self._unrolled[cut]

    # -- leaves and applications --
    def time(self, expr, s: Setting) -> int:
        k = self._bound(expr, s)
        if k < 0 or k > s.big_t:
            raise OutOfRange(k)
        return k

    def leaf(self, r: Ref, s: Setting, cut=None) -> sp.Matrix:
        model, u = self.model, self.unrolled(cut)
        if r.kind == "p":
            if model.loss is not None and r.name == model.loss.name:
                return sp.Matrix([[model.loss.scale.xreplace({nt.T: s.big_t}) * sum(u.loss_terms(s.big_t))]])
            if r.name not in u.params:
                raise Unknown(f"{r.name}, which the model does not define")
            return u.params[r.name]
        k = self.time(r.time, s)
        if model.loss is not None and r.name == model.loss.func and k >= 1:
            return sp.Matrix([[u.loss_terms(s.big_t)[k - 1]]])
        try:
            return u.leaf(r, k)
        except KeyError:
            raise Unknown(f"{r.name}_{r.time}, which the model does not define at step {k}") from None

    def applied(self, name: str, args: tuple, s: Setting, cut=None) -> tuple[list[Ref], tuple, int]:
        """The leaves of a function's arguments, its flat point and its number of outputs."""
        refs = [ref(a, s.names) for a in args]
        if any(r is None for r in refs):
            raise Unknown(f"an argument of {name} that is not a name")
        flat: list = []
        for r in refs:
            flat.extend(self.leaf(r, s, cut))
        dims = [self.model.dims.get(d.name, 1) for d in self.model.quantities.values() if d.func == name]
        if not dims and not (self.model.loss and self.model.loss.func == name):
            raise Unknown(f"the function {name}, which the model does not use")
        return refs, tuple(flat), dims[0] if dims else 1

    # -- the value of an expression --
    def value(self, expr, s: Setting, cut=None) -> sp.Matrix:
        if isinstance(expr, sp.Number) and not isinstance(expr, sp.Float):
            return sp.Matrix([[expr]])
        if isinstance(expr, sp.Symbol) and expr.name in (*s.names, "T"):
            return sp.Matrix([[dict(s.env).get(expr.name, s.big_t)]])
        leaf = ref(expr, s.names)
        if leaf is not None:
            return self.leaf(leaf, s, cut)
        app = application(expr)
        if app is not None and self.model.loss is not None and app[0] == self.model.loss.name:
            return self.leaf(Ref("p", app[0]), s, cut)
        if app is not None:
            _, point, dim = self.applied(*app, s, cut)
            return sp.Matrix([component(app[0], n, dim)(*point) for n in range(dim)])
        if isinstance(expr, _DERIVATIVES):
            return self.derivative(expr, s, cut)
        if isinstance(expr, (sp.Add, sp.MatAdd)):
            return _total([self.value(a, s, cut) for a in expr.args])
        if isinstance(expr, (sp.Mul, sp.MatMul)):
            return _product([self.value(a, s, cut) for a in expr.args])
        if isinstance(expr, (sp.Transpose,)):
            return self.value(expr.arg, s, cut).T
        if isinstance(expr, sp.Pow) and expr.exp.is_Integer and abs(expr.exp) <= MAX_TERMS:
            base = self.value(expr.base, s, cut)
            if base.shape == (1, 1) and base[0] != 0:
                return sp.Matrix([[base[0] ** expr.exp]])
        if isinstance(expr, (sp.Sum, sp.Product)):
            return self.big(expr, s, cut)
        raise Unknown(f"{type(expr).__name__} {sp.sstr(expr)[:60]}")

    def big(self, expr, s: Setting, cut=None) -> sp.Matrix:
        """A bounded sum or product, over its range (a product in the setting's order)."""
        if len(expr.limits) != 1:
            raise Unknown("a sum over several indices")
        var, lo, hi = expr.limits[0]
        lo_k, hi_k = self._bound(lo, s), self._bound(hi, s)
        if hi_k - lo_k > MAX_TERMS:
            raise Unknown(f"a sum or product of more than {MAX_TERMS} terms")
        steps = list(range(lo_k, hi_k + 1))
        if isinstance(expr, sp.Product) and s.descending:
            steps.reverse()
        items = []
        for k in steps:
            try:
                items.append(self.value(expr.function, s.at(**{var.name: k}), cut))
            except OutOfRange:
                raise Unknown(f"a term of the {'sum' if isinstance(expr, sp.Sum) else 'product'} outside the "
                              "unrolling") from None
        if isinstance(expr, sp.Sum):
            return _total(items) if items else sp.Matrix([[0]])
        return _product(items) if items else sp.Matrix([[1]])

    def _bound(self, b, s: Setting) -> int:
        """An index expression's value under the binding (t, T and the bound indices)."""
        env = {**dict(s.env), "T": s.big_t}
        value = sp.sympify(b).xreplace({v: sp.Integer(env[v.name]) for v in b.free_symbols if v.name in env})
        if not value.is_Integer:
            raise Unknown(f"the index {b}")
        return int(value)

    # -- derivatives --
    def derivative(self, expr, s: Setting, cut=None) -> sp.Matrix:
        if cut is not None:
            raise Unknown("a derivative inside a derivative")
        num, var = expr.expr, expr.variable
        partial = isinstance(expr, nt.PartialDerivative) or (isinstance(expr, nt.VecDerivative) and expr.partial)
        key = (num, var, partial, s.env, s.big_t)
        if key not in self._jacobians:
            self._jacobians[key] = self._jacobian(num, var, partial, s)
        jac = self._jacobians[key]
        if s.layout == "den" or (s.layout == "mixed" and jac.shape[0] == 1):
            return jac.T
        return jac

    def _jacobian(self, num, var, partial: bool, s: Setting) -> sp.Matrix:
        v = ref(var, s.names)
        if v is None:
            raise Unknown(f"a derivative with respect to {sp.sstr(var)[:40]}")
        app = application(num)
        if partial and app is not None and not (self.model.loss and app[0] == self.model.loss.name):
            slot = self._slot(app, v, s)
            if slot is not None:
                return self._partial(app, slot, s)
        if v.kind == "p" and v.name in self.model.quantities:
            raise Unknown(f"the derivative with respect to {v.name} of something that is not a function of it")
        symbols, cut = self._variable(v, s)
        top = self.value(num, s, cut)
        if top.shape[1] != 1:
            raise Unknown("the derivative of a matrix")
        jac = sp.Matrix(top.shape[0], len(symbols), lambda a, b: sp.diff(top[a], symbols[b]))
        if cut is not None:
            back = dict(zip(symbols, self.unrolled().values[cut], strict=True))
            jac = jac.xreplace(back)
        return jac.applyfunc(self.canon)

    def _variable(self, v: Ref, s: Setting) -> tuple[list, tuple | None]:
        """The symbols to differentiate by, and the quantity to cut (None for a parameter, an input or h_0)."""
        u = self.unrolled()
        if v.kind == "p":
            if v.name not in u.params:
                raise Unknown(f"a derivative with respect to {v.name}, which the model does not define")
            return list(u.params[v.name]), None
        k = self.time(v.time, s)
        if v.name in self.model.quantities and k >= 1:
            return list(self.unrolled((v.name, k)).cut_symbols), (v.name, k)
        try:
            return list(u.leaf(v, k)), None
        except KeyError:
            raise Unknown(f"a derivative with respect to {v.name}_{k}") from None

    def _slot(self, app, v: Ref, s: Setting) -> int | None:
        """The argument of ``app`` that ``v`` names (``h`` or ``h_{t-1}`` for ``h_{t-1}``), else None."""
        found = []
        for n, arg in enumerate(app[1]):
            a = ref(arg, s.names)
            if a is None or a.name != v.name:
                continue
            if v.kind == "p" or a.kind == "p" or self.time(a.time, s) == self.time(v.time, s):
                found.append(n)
        if len(found) > 1:
            raise Unknown(f"which argument of {app[0]} the derivative is with respect to")
        return found[0] if found else None

    def _partial(self, app, slot: int, s: Setting) -> sp.Matrix:
        refs, point, dim = self.applied(*app, s)
        start = sum(len(self.leaf(r, s)) for r in refs[:slot])
        width = len(self.leaf(refs[slot], s))
        return sp.Matrix(dim, width, lambda a, b: self.symbol((component(app[0], a, dim).__name__,
                                                               (start + b,), point)))

    def symbol(self, key: tuple) -> sp.Symbol:
        """The one symbol for a derivative of a function (name, argument positions) at a point."""
        if key not in self._symbols:
            self._symbols[key] = sp.Symbol(f"D{len(self._symbols)}_{key[0]}")
        return self._symbols[key]

    def canon(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with each derivative of an undefined function at a point replaced by its symbol."""
        subs = {d: self._key(d.expr, dict(zip(d.variables, d.point, strict=True))) for d in expr.atoms(sp.Subs)}
        expr = expr.xreplace(subs)
        return expr.xreplace({d: self._key(d, {}) for d in expr.atoms(sp.Derivative)})

    def _key(self, d, mapping: dict) -> sp.Symbol:
        if not isinstance(d, sp.Derivative) or not isinstance(d.expr, sp.core.function.AppliedUndef):
            raise Unknown("a derivative SymPy left unevaluated")
        f = d.expr
        positions = []
        for v, count in d.variable_count:
            where = [n for n, a in enumerate(f.args) if a == v]
            if len(where) != 1:
                raise Unknown("a function with the same argument twice")
            positions += where * int(count)
        point = tuple(a.xreplace(mapping) for a in f.args)
        return self.symbol((f.func.__name__, tuple(sorted(positions)), point))


def _total(items: list[sp.Matrix]) -> sp.Matrix:
    kept = [m for m in items if not _zero(m)]
    if not kept:
        return sp.Matrix([[0]])
    out = kept[0]
    for m in kept[1:]:
        if m.shape != out.shape:
            raise ShapeError(f"a sum of a {_shape(out)} and a {_shape(m)} matrix")
        out = out + m
    return out


def _product(items: list[sp.Matrix]) -> sp.Matrix:
    out = items[0]
    for m in items[1:]:
        if out.shape == (1, 1):
            out = out[0] * m
        elif m.shape == (1, 1):
            out = out * m[0]
        elif out.shape[1] != m.shape[0]:
            raise ShapeError(f"a product of a {_shape(out)} and a {_shape(m)} matrix")
        else:
            out = out * m
    return out


def _zero(m: sp.Matrix) -> bool:
    return m.shape == (1, 1) and m[0] == 0


def _shape(m: sp.Matrix) -> str:
    return f"{m.shape[0]} x {m.shape[1]}"


class ShapeError(Exception):
    """A sum or product of matrices whose sizes do not fit (in the layout tried)."""
