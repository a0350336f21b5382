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


#: Letters (and Greek names) that a subscript uses as an index, not as part of a name: ``h_t``, ``x_{t+1}``,
#: ``h_{i,t}``, ``y_T``, ``\vec{h}_\tau``.
INDEX_LETTERS = frozenset({"t", "i", "j", "k", "s", "T", "tau", "n", "q"})
#: Lower-case names whose one-letter subscript names them rather than indexing them: the bias ``b_h``, ``b_f``.
PARAMETERS = frozenset({"b"})
#: Letters (and Greek names) read as an abstract function when a parenthesised argument follows: ``f(x)``,
#: ``\phi(z)``, ``\ell(y, o)``, ``l(y_t, o_t)`` (``g`` is always one).  Any letter before a comma list is one.
FUNCTION_LETTERS = frozenset({"f", "g", "l", "ell", "phi", "varphi"})
#: Functions whose value is a number whatever their arguments: the per-step loss ``\ell(y_t, o_t)``, ``l(...)``.
LOSSES = frozenset({"l", "ell"})
#: Upper-case letters that are numbers, not matrices: sizes (T, N, V) and the loss (L, J, E).
SCALAR_LETTERS = frozenset({"T", "N", "V", "L", "J", "E"})
#: Letters that make a matrix's subscript a time step rather than part of its name: ``\mathbf{H}_t``,
#: ``\mathbf{H}_\tau``, ``\mathbf{H}_T`` (arithmetic such as ``t-1`` always is one).
TIME_LETTERS = frozenset({"t", "tau", "T"})
#: SymPy's name suffixes for accents (``htilde`` prints as ``\tilde{h}``), stripped to find a vector's size.
_ACCENT_SUFFIXES = ("tilde", "hat", "bar")


@dataclass(frozen=True)
class Sizes:
    """Sizes that the LaTeX does not show: a vector's length and a matrix's shape, by name.

    Vectors default to N entries (``\\vec{x}`` to V+1); matrices to N x N (``W`` and ``W_f``-style names to
    N x (V+1)).  Keys are names as written (``"U_f"``) or their base letter (``"W"``); a lower-case name such as
    ``"b_ii"`` is a matrix (a bias column) only when listed.  ``gates`` names the vectors written without an
    arrow (the LSTM's ``f_t``, ``i_t``, ``o_t``) with their length; none by default, so ``f_t`` is a scalar.

    How a subscript is read (docs/parsing.md, "Names and operators"): ``index_letters`` are the letters an index
    is made of (``h_t``, ``h_{t-1}``, ``h_{i,t}``, ``y_T`` index ``h`` and ``y``); a subscript written as text
    (``\\textrm{hh}``, ``\\mathrm{xh}``, ``\\text{hh}``), a word of two or more letters none of which is an
    index letter (``W_{hx}``, ``b_{hh}``), one non-index letter after a matrix or a name in ``parameters``
    (``U_f``, ``b_h``), or any word of two or more letters after a parameter (PyTorch's ``b_{ih}``) is part of the
    name.  ``functions`` are the letters read as an abstract function before
    ``(...)``, ``losses`` those whose value is a number even of vectors (else a function of a vector is a vector
    function, :class:`symrnn.notation.Applied`, as ``g``).  ``scalar_letters`` are the upper-case letters that are
    numbers (any other is a matrix).  ``time_letters`` make a matrix's subscript a time step (``\\mathbf{H}_t``,
    :class:`.objects.MatrixAt`) where any other letters name it (``W_{xh}``).
    """

    vectors: Mapping[str, Any] = field(default_factory=_default_vectors)
    matrices: Mapping[str, tuple[Any, Any]] = field(default_factory=_default_matrices)
    default_size: Any = nt.N
    gates: Mapping[str, Any] = field(default_factory=dict)
    index_letters: frozenset[str] = INDEX_LETTERS
    parameters: frozenset[str] = PARAMETERS
    functions: frozenset[str] = FUNCTION_LETTERS
    losses: frozenset[str] = LOSSES
    scalar_letters: frozenset[str] = SCALAR_LETTERS
    time_letters: frozenset[str] = TIME_LETTERS

    def vector_size(self, name: str) -> sp.Expr:
        """A vector's length: by its name (``"x"``, ``"b_h"``), else its base (``"b"``), else its letter without an
        accent (``"xhat"``: ``"x"``), else the default."""
        base = name.split("_")[0]
        letter = next((base[:-len(a)] for a in _ACCENT_SUFFIXES if base.endswith(a) and len(base) > len(a)), base)
        for key in (name, base, letter):
            if key in self.vectors:
                return _sympify(self.vectors[key])
        return _sympify(self.default_size)

    def matrix_shape(self, name: str) -> tuple[sp.Expr, sp.Expr]:
        """A matrix's shape: by its name (``"U_f"``); else, for a subscript of two letters that are not indices
        (``W_{hx}``), the sizes of the vectors they name (rows, columns); else its base letter (``"W"``), else
        N x N."""
        base, _, sub = name.partition("_")
        if name in self.matrices:
            shape = self.matrices[name]
        elif len(sub) == 2 and sub.isalpha() and not set(sub) & self.index_letters:
            shape = (self.vector_size(sub[0]), self.vector_size(sub[1]))
        else:
            shape = self.matrices.get(base, (self.default_size, self.default_size))
        return _sympify(shape[0]), _sympify(shape[1])

    def is_index(self, letters: str | list[str]) -> bool:
        """True if a subscript of these letters is an index (any of them an index letter)."""
        return any(x in self.index_letters for x in ([letters] if isinstance(letters, str) else letters))


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
