"""The sizes of a cell's quantities and parameters, inferred from how they are used and what is declared.

Every dimension is a variable; each sum, product and Hadamard product makes two of them equal (union-find).  A
variable may carry a *role*: ``N`` (the states' size), ``D`` (the input's), ``1`` (a column's width), ``Q`` (the
size of an output layer's output, which no step reads back); two of N, D and 1 never meet (Q meeting one of them
takes its role: ``\\hat{y}_t = \\mathrm{softmax}(\\vec{h}_t)`` has N entries; N and D meet only where a declaration
gives the input and a state one named size, D = N), so ``W \\vec{h}_{t-1}`` with ``W``
used as ``W \\vec{x}_t`` elsewhere, or ``W \\in \\mathbb{R}^{h \\times d}`` multiplying a state, is
:class:`~symrnn.derive.errors.ShapesDisagree` naming both shapes.  A declared size is a variable named by its symbol
(``h``, ``d``), so a declaration relates sizes (``W_{hx} \\in \\mathbb{R}^{h \\times d}`` with ``\\mathbf{x}_t \\in
\\mathbb{R}^d`` makes W N x D); a declared number fixes a size.  At the end each variable takes its value: N is
``n_state``, D ``n_input``, a number itself, a named size its value in ``sizes``; Q a number or a named size's
value when it has one, else ``n_output``, else N's value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symrnn.derive import errors
from symrnn.derive import terms as tm

N, D, ONE, Q = "N", "D", "1", "Q"


class Dims:
    """Dimension variables with union-find; a class holds at most one role, one number and any declared names."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.role: dict[int, str] = {}
        self.value: dict[int, int] = {}
        self.names: dict[int, set[str]] = {}
        self.named: dict[str, int] = {}

    def new(self, role: str | None = None, value: int | None = None) -> int:
        d = len(self.parent)
        self.parent.append(d)
        if role is not None:
            self.role[d] = role
        if value is not None:
            self.value[d] = value
        return d

    def declared(self, size: sp.Expr) -> int:
        """The variable of a declared size: a number, or the one variable of each named size (``h``, ``V + 1``)."""
        if isinstance(size, sp.Integer):
            return self.new(ONE) if int(size) == 1 else self.new(value=int(size))
        key = str(size)
        if key not in self.named:
            self.named[key] = d = self.new()
            self.names[d] = {key}
        return self.named[key]

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def unify(self, a: int, b: int, declared: bool = False) -> bool:
        """Make a and b one size; False (and no change) when their roles or numbers differ.  ``declared``: a
        declaration gives the states and the input one named size (``\\mathbb{R}^{H}`` for both), so N and D
        may meet (D = N: a highway term ``(1 - r_t) \\odot x_t`` needs it); the equations alone never make them meet."""
        a, b = self.find(a), self.find(b)
        if a == b:
            return True
        ra, rb, va, vb = self.role.get(a), self.role.get(b), self.value.get(a), self.value.get(b)
        if ra == Q and rb:  # the output's size meets another role: it is that size
            ra = None
        elif rb == Q and ra:
            rb = None
        if declared and {ra, rb} == {N, D}:  # one size for both, named N
            ra, rb = N, None
        if (ra and rb and ra != rb) or (va is not None and vb is not None and va != vb):
            return False
        if ONE in (ra, rb) and (va, vb) != (None, None) and 1 not in (va, vb):
            return False
        self.parent[b] = a
        self.role.pop(a, None)
        if ra or rb:
            self.role[a] = ra or rb
        if vb is not None:
            self.value[a] = vb
        self.names.setdefault(a, set()).update(self.names.pop(b, set()))
        return True

    def show(self, d: int) -> str:
        d = self.find(d)
        if d in self.role:
            value = self.value.get(d)
            return self.role[d] if value is None or self.role[d] == ONE else f"{self.role[d]}={value}"
        if d in self.value:
            return str(self.value[d])
        return "/".join(sorted(self.names.get(d, ()))) or "?"

    def shape(self, shape: tuple[int, int]) -> str:
        return f"{self.show(shape[0])} x {self.show(shape[1])}"


@dataclass
class Shapes:
    """Shape inference over the terms of a cell's equations, in the order they are written."""

    dims: Dims
    quantities: dict[str, tuple[int, int]] = field(default_factory=dict)
    params: dict[str, tuple[int, int]] = field(default_factory=dict)
    declared_at: dict[str, tuple[sp.Expr, sp.Expr, int]] = field(default_factory=dict)
    ones: dict[int, tuple[int, int]] = field(default_factory=dict)  # by the id of each ones leaf
    n_output: int | None = None  # the output's size Q when it is not N (set by the reader at the end)

    def quantity(self, name: str) -> tuple[int, int]:
        if name not in self.quantities:
            self.quantities[name] = (self.dims.new(), self.dims.new(ONE))
        return self.quantities[name]

    def leaf(self, leaf: tm.Leaf) -> tuple[int, int]:
        if leaf.kind in (tm.CURRENT, tm.PREVIOUS):
            return self.quantity(leaf.name)
        if leaf.kind == tm.INPUT:
            return self.quantity(tm.INPUT_NAME)
        if leaf.kind == tm.ONES:
            return self.ones.setdefault(id(leaf), (self.dims.new(), self.dims.new(ONE)))
        if leaf.name not in self.params:
            self.params[leaf.name] = (self.dims.new(), self.dims.new(ONE) if leaf.vector else self.dims.new())
        shape = self.params[leaf.name]
        if leaf.vector and not self.dims.unify(shape[1], self.dims.new(ONE)):
            raise ShapeConflict(f"{self.describe(leaf, shape)} is used as a column here and as a matrix elsewhere")
        return shape

    def describe(self, term, shape: tuple[int, int]) -> str:
        """A term in a message: its LaTeX, its shape so far, and its declaration if it has one."""
        text = tm.shown(term.origin if term.origin is not None else "")
        where = ""
        if isinstance(term, tm.Leaf) and term.kind == tm.PARAM and term.name in self.declared_at:
            rows, cols, line = self.declared_at[term.name]
            where = f", declared {rows} x {cols} on line {line}"
        return f"{text} ({self.dims.shape(shape)}{where})"

    def of(self, term) -> tuple[int, int]:
        """The shape of a term, making the sizes it relates equal; :class:`ShapeConflict` when they differ."""
        if isinstance(term, tm.Leaf):
            return self.leaf(term)
        if isinstance(term, (tm.Sum, tm.Hadamard)):
            parts = term.terms if isinstance(term, tm.Sum) else term.factors
            verb = "add" if isinstance(term, tm.Sum) else "take the Hadamard product (\\odot) of"
            first = self.of(parts[0])
            for part in parts[1:]:
                shape = self.of(part)
                if not (self.dims.unify(first[0], shape[0]) and self.dims.unify(first[1], shape[1])):
                    raise ShapeConflict(f"cannot {verb} {self.describe(parts[0], first)} and "
                                        f"{self.describe(part, shape)}")
            return first
        if isinstance(term, tm.Product):
            rows, cols = self.of(term.factors[0])
            for left, right in zip(term.factors, term.factors[1:]):
                shape = self.of(right)
                if not self.dims.unify(cols, shape[0]):
                    hint = ""
                    if isinstance(left, tm.Leaf) and left.vector:
                        hint = ("; a name written before a vector is read as a column here: a scalar multiplying a "
                                "vector must be a number, an entrywise weight needs \\odot")
                    raise ShapeConflict(f"cannot multiply {self.describe(left, (rows, cols))} by "
                                        f"{self.describe(right, shape)}{hint}")
                cols = shape[1]
            return rows, cols
        if isinstance(term, tm.Transposed):
            rows, cols = self.of(term.arg)
            return cols, rows
        if isinstance(term, tm.Apply):
            shape = self.of(term.arg)
            if term.function in ("softmax", "logsoftmax") and not self.dims.unify(shape[1], self.dims.new(ONE)):
                raise ShapeConflict(f"{term.function} takes a column; {self.describe(term.arg, shape)} is not one")
            return shape
        return self.of(term.arg)  # Scaled

    def declare(self, leaf: tm.Leaf, rows: sp.Expr, cols: sp.Expr, line: int) -> None:
        """A declaration's shape for a quantity or a parameter."""
        shape = (self.dims.declared(rows), self.dims.declared(cols))
        if leaf.kind == tm.PARAM:
            current = self.params.setdefault(leaf.name, shape)
            self.declared_at.setdefault(leaf.name, (rows, cols, line))
        else:
            current = self.quantity(tm.INPUT_NAME if leaf.kind == tm.INPUT else leaf.name)
        if not (self.dims.unify(current[0], shape[0], declared=True) and self.dims.unify(current[1], shape[1])):
            raise ShapeConflict(f"{tm.shown(leaf.origin)} is declared {self.dims.shape(shape)} but is "
                                f"{self.dims.shape(current)}")

    def size(self, d: int, n_state: int, n_input: int, sizes: dict[str, int], what: str,
             n_output: int | None = None) -> int:
        """The number a dimension stands for; :class:`ShapeConflict` when nothing fixes it.  The output's size Q:
        a number, a named size in ``sizes``, else ``n_output``, else ``n_state``."""
        r = self.dims.find(d)
        role, value = self.dims.role.get(r), self.dims.value.get(r)
        fixed = 1 if role == ONE else value if value is not None else {N: n_state, D: n_input}.get(role)
        if fixed is not None:
            given = {name: int(sizes[name]) for name in sorted(self.dims.names.get(r, ())) if name in sizes}
            other = next(((name, v) for name, v in given.items() if v != fixed), None)
            if other is not None:
                made = f"{role} = {fixed}" if role in (N, D) else str(fixed)
                raise ShapeConflict(f"the size {other[0]} is given as {other[1]}, but the equations and declarations "
                                    f"make it {made} (it is a size of {what}): a declaration with its sizes in the "
                                    "wrong order?")
            return fixed
        for name in sorted(self.dims.names.get(r, ())):
            if name in sizes:
                return int(sizes[name])
        if role == Q:
            return n_output if n_output is not None else n_state
        names = sorted(self.dims.names.get(r, ()))
        if names:
            raise ShapeConflict(f"the size {'/'.join(names)} of {what} is not fixed by the equations or the "
                                f"declarations: give it as sizes={{{names[0]!r}: ...}}")
        raise ShapeConflict(f"a size of {what} is not fixed by the equations or the declarations: declare it with "
                            "a named size (\\in \\mathbb{R}^{k \\times d}) and give that size in sizes={'k': ...}")


class ShapeConflict(Exception):
    """Raised inside shape inference; the caller adds the equation's line (:class:`errors.ShapesDisagree`)."""

    def at(self, line: int | None, text: str = "") -> errors.ShapesDisagree:
        return errors.ShapesDisagree(str(self), line, text)
