"""Reverse-mode differentiation of one scalar SymPy expression, over its graph.

``sp.diff`` differentiates a tree: every nested derivative rebuilds (and re-walks, for ``free_symbols``) the
subexpressions below it, and an unrolled recurrence shares them so heavily that its tree is orders of magnitude
larger than its graph.  Here each distinct subexpression is visited once: children are sorted after all their
parents, the adjoint ``dE/dnode`` is accumulated from every parent by the chain rule of the parent's type, and one
backward pass gives the gradient with respect to every chosen symbol (micrograd's ``backward()``, with SymPy
expressions for values).  The result is a SymPy expression sharing the input's subexpressions; it is independent
of symrnn's matrix-level derivation (only the scalar rules below and each function's own ``fdiff`` are used).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.core.function import ArgumentIndexError


def _postorder(root: sp.Basic, wrt: set) -> tuple[list[sp.Basic], dict[sp.Basic, bool]]:
    """Every distinct node once, each after all of its descendants, and whether it depends on ``wrt``."""
    order: list[sp.Basic] = []
    depends: dict[sp.Basic, bool] = {}
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            depends[node] = node in wrt or any(depends[a] for a in node.args)
            order.append(node)
        elif node not in depends:
            depends[node] = False  # visited; set properly once its children are done
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in depends)
    return order, depends


def _by_substitution(node: sp.Basic, arg: sp.Basic) -> sp.Expr:
    """``d node / d arg`` for a node type without a rule here: differentiate with the argument as a fresh symbol."""
    d = sp.Dummy("a")
    return sp.diff(node.xreplace({arg: d}), d).xreplace({d: arg})


def partials(node: sp.Basic, depends: dict[sp.Basic, bool]) -> list[tuple[sp.Basic, sp.Expr]]:
    """``(child, d node / d child)`` for each argument of ``node`` that depends on the variables."""
    args = node.args
    if node.is_Add:
        return [(a, sp.S.One) for a in args if depends[a]]
    if node.is_Mul:
        return [(a, sp.Mul(*args[:i], *args[i + 1:])) for i, a in enumerate(args) if depends[a]]
    if node.is_Pow:
        base, e = args
        out = [(base, e * base ** (e - 1))] if depends[base] else []
        return out + [(e, node * sp.log(base))] if depends[e] else out
    if isinstance(node, sp.Function):
        out = []
        for i, a in enumerate(args):
            if depends[a]:
                try:
                    out.append((a, node.fdiff(i + 1)))
                except (ArgumentIndexError, NotImplementedError):
                    out.append((a, _by_substitution(node, a)))
        return out
    return [(a, _by_substitution(node, a)) for a in dict.fromkeys(args) if depends[a]]


def gradient(expr: sp.Expr, wrt: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """``[d expr / d s for s in wrt]`` by one backward pass over the graph of ``expr`` (each shared node once)."""
    targets = set(wrt)
    order, depends = _postorder(sp.sympify(expr), targets)
    adjoints: dict[sp.Basic, list[sp.Expr]] = {order[-1]: [sp.S.One]} if order else {}
    found: dict[sp.Basic, sp.Expr] = {}
    for node in reversed(order):  # parents before children: a node's adjoint is complete when it is reached
        terms = adjoints.pop(node, None)
        if terms is None or not depends[node]:
            continue
        total = sp.Add(*terms)
        if node in targets:
            found[node] = total
            continue
        for child, local in partials(node, depends):
            adjoints.setdefault(child, []).append(total if local == 1 else total * local)
    return [found.get(s, sp.S.Zero) for s in wrt]


def jacobian_row(expr: sp.Expr, m: sp.Matrix) -> sp.Matrix:
    """``d expr / d m`` entrywise, shaped like the matrix of symbols ``m``."""
    flat = list(m)
    return sp.Matrix(m.rows, m.cols, gradient(expr, flat))
