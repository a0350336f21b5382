"""What the LaTeX does not show: vector lengths, matrix shapes and the gates written without arrows.

:class:`Sizes` is the reader's declaration of them (named apart from the :mod:`symrnn.notation` package, which
holds the objects themselves); :func:`notation_of` takes them from an expression, so that a round trip reads an
emitted equation with the sizes of the object it was printed from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings

from symrnn import notation as nt


def _default_vectors() -> dict[str, sp.Expr]:
    return {"x": nt.V + 1}


def _default_matrices() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    return {"W": (nt.N, nt.V + 1)}


@dataclass(frozen=True)
class Sizes:
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


DEFAULT_SIZES = Sizes()


def notation_of(expr: Any, strict: bool = True) -> Sizes:
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
    base = DEFAULT_SIZES
    return Sizes({**base.vectors, **vectors}, {**base.matrices, **matrices}, base.default_size, gates)
