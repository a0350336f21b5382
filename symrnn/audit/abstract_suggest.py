"""The correct statement of a chain-rule claim about abstract functions, in the document's notation
(``\\partial_w`` subscripts or ``\\frac{\\partial}{\\partial w}``, bold vectors or plain scalars), derived from the
model's definitions by the chain rule one level deep:

- ``dL/dw``: the loss's scale, ``\\sum_{t=1}^{T}``, the per-step loss's derivative in each argument that depends on
  w times that argument's derivative (an intermediate such as ``o_t`` expanded through its definition, a state kept
  as its total derivative ``\\partial_w h_t``);
- ``dh_t/dw``: the recursion ``\\partial_w f(...) + \\partial_h f(...) \\partial_w h_{t-1}``, or, for a claim
  written as a sum or product, the closed form
  ``\\sum_{i=1}^{t} \\left[\\prod_{j=i+1}^{t} \\partial_h f(x_j, h_{j-1}, w)\\right] \\partial_w f(x_i, h_{i-1}, w)``.

A statement is offered only after it is read back and checked like the claim itself.
"""

from __future__ import annotations

import sympy as sp

from symrnn import notation as nt
from symrnn.audit.abstract_model import AbstractModel, Definition, Ref, ref
from symrnn.latex.parse.tokens import GREEK

t = nt.t


def correction(model: AbstractModel, first, wrong, text: str,
               layouts: tuple[str, ...] = ("num",)) -> str | None:
    """``first = correct`` as LaTeX, or None when symrnn has no form for this claim or its form does not check."""
    from symrnn.audit.abstract_chain import holds

    sub = r"\partial_" in text
    var = ref(first.variable)
    if var is None or var.kind != "p" or var.name not in model.params:
        return None
    var = _param(model, var.name)
    of = ref(first.expr)
    if of is not None:
        of = Ref(of.kind, of.name, of.time, model.dims.get(of.name, 1) > 1)
    num = first.expr
    try:
        if model.loss is not None and (getattr(num, "name", None) == model.loss.name
                                       or (of is not None and of.kind == "p" and of.name == model.loss.name)):
            lhs = total(model.loss.name, var, sub)
            rhs = loss_gradient(model, var.name, sub)
        elif of is not None and of.kind == "q" and of.name in model.quantities:
            lhs = total(leaf(of, of.time), var, sub)
            closed = isinstance(wrong, sp.Basic) and wrong.has(sp.Sum, sp.Product)
            rhs = closed_form(model, of, var, sub) if closed else recursion(model, of, var, sub)
        else:
            return None
    except KeyError:
        return None
    if rhs is None:
        return None
    statement = f"{lhs} = {rhs}"
    return statement if holds(model, statement, layouts) else None


def name_text(name: str, vector: bool) -> str:
    base, _, index = name.partition("_")
    base = rf"\{base}" if base in GREEK or base == "ell" else base
    base = rf"\mathbf{{{base}}}" if vector else base
    return f"{base}_{{{index}}}" if index else base


def leaf(r: Ref, time) -> str:
    if r.kind == "p":
        return name_text(r.name, r.vector)
    return f"{name_text(r.name, r.vector)}_{{{sp.latex(time).replace(' ', '')}}}"


def applied(func: str, args: tuple[Ref, ...], tau) -> str:
    inner = ", ".join(leaf(a, a.time.xreplace({t: tau}) if a.kind == "q" else None) for a in args)
    return f"{name_text(func, False)}({inner})"


def slot(func: str, args: tuple[Ref, ...], tau, arg: Ref, sub: bool) -> str:
    """The partial of ``func`` at step ``tau`` in its argument ``arg``."""
    var = leaf(arg, arg.time.xreplace({t: tau}) if arg.kind == "q" else None)
    app = applied(func, args, tau)
    return rf"\partial_{{{var}}} {app}" if sub else rf"\frac{{\partial {app}}}{{\partial {var}}}"


def total(of: str, var: Ref, sub: bool) -> str:
    v = leaf(var, None)
    return rf"\partial_{{{v}}} {of}" if sub else rf"\frac{{\partial {of}}}{{\partial {v}}}"


def _depends(model: AbstractModel, p: str) -> set[str]:
    """The quantities that depend on the parameter ``p``."""
    found: set[str] = set()
    while True:
        more = {d.name for d in model.quantities.values()
                if any(a.name == p or a.name in found for a in d.args)} - found
        if not more:
            return found
        found |= more


def expand(model: AbstractModel, func: str, args: tuple[Ref, ...], tau, p: Ref, sub: bool) -> list[list[str]]:
    """The chain rule through ``func(args)`` at step ``tau``: one product of factors per argument that depends on
    ``p`` (intermediates expanded, states kept as their total derivatives)."""
    deps = _depends(model, p.name)
    terms: list[list[str]] = []
    for a in sorted(args, key=lambda a: a.kind != "p"):  # the direct term first
        if a.kind == "p":
            if a.name == p.name:
                terms.append([slot(func, args, tau, a, sub)])
            continue
        if a.name not in deps:
            continue
        at = a.time.xreplace({t: tau})
        if a.name in model.states:
            terms.append([slot(func, args, tau, a, sub), total(leaf(a, at), p, sub)])
            continue
        d: Definition = model.quantities[a.name]
        inner = expand(model, d.func, d.args, at, p, sub)
        if inner:
            terms.append([slot(func, args, tau, a, sub), group(inner)])
    return terms


def group(terms: list[list[str]]) -> str:
    text = " + ".join(" ".join(f) for f in terms)
    return text if len(terms) == 1 else rf"\left[{text}\right]"


def loss_gradient(model: AbstractModel, p: str, sub: bool) -> str | None:
    loss = model.loss
    terms = expand(model, loss.func, loss.args, t, _param(model, p), sub)
    if not terms:
        return None
    body = " + ".join(" ".join(f) for f in terms)
    body = rf"\left({body}\right)" if len(terms) > 1 else body
    scale = "" if loss.scale == 1 else r"\frac{1}{T} " if sp.simplify(loss.scale * nt.T) == 1 else \
        f"{sp.latex(loss.scale)} "
    return rf"{scale}\sum_{{t=1}}^{{T}} {body}"


def recursion(model: AbstractModel, of: Ref, var: Ref, sub: bool) -> str | None:
    d = model.quantities[of.name]
    terms = expand(model, d.func, d.args, of.time, var, sub)
    return " + ".join(" ".join(f) for f in terms) if terms else None


def closed_form(model: AbstractModel, of: Ref, var: Ref, sub: bool) -> str | None:
    """``\\sum_{i=1}^{t} [\\prod_{j=i+1}^{t} \\partial_h f(at j)] \\partial_w f(at i)`` for a state whose only
    argument depending on w, besides w, is itself at t-1."""
    d = model.quantities[of.name]
    deps = _depends(model, var.name)
    own = [a for a in d.args if a.kind == "q" and a.name in deps]
    direct = [a for a in d.args if a.kind == "p" and a.name == var.name]
    if len(own) != 1 or own[0].name != of.name or sp.expand(own[0].time - t + 1) != 0 or len(direct) != 1:
        return recursion(model, of, var, sub)
    i, j = sp.Symbol("i"), sp.Symbol("j")
    step = slot(d.func, d.args, j, own[0], sub)
    start = slot(d.func, d.args, i, direct[0], sub)
    end = sp.latex(of.time).replace(" ", "")
    return rf"\sum_{{i=1}}^{{{end}}} \left[\prod_{{j=i+1}}^{{{end}}} {step}\right] {start}"


def _param(model: AbstractModel, p: str) -> Ref:
    for d in model._all():
        for a in d.args:
            if a.kind == "p" and a.name == p:
                return a
    raise KeyError(p)
