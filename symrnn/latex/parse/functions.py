"""Grammar: names and what they denote (vectors, matrices, gates, random variables, indexed entries), function
application (``g(...)``, ``\\sigma(...)``, ``\\operatorname{softmax}_j(...)``, ``\\exp``/``\\ln``/``\\tanh``) and
the text commands.

Sizes come from the parser's :class:`.sizes.Sizes`.  A known function of a vector acts entrywise (``\\exp``,
``\\ln``, ``\\tanh``, ``\\sigma``); any other is a named vector function (:class:`symrnn.notation.Applied`).
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import RefusedName
from symrnn.latex.parse.tokens import ACCENTS, FUNCTIONS, WORD, Token


class FunctionsMixin(ParserCore):
    """Names, function application and text commands."""

    def name(self, name: str, indices: list | None, tok: Token, vector: bool = False):
        if vector:
            if indices is None:
                return sp.MatrixSymbol(name, self.sizes.vector_size(name), 1)
            if len(indices) != 1:
                raise self.error(f"\\vec{{{name}}} takes one time index", tok)
            return nt.Vec(name, indices[0], self.sizes.vector_size(name))
        if name in ("X", "Y") and indices is not None and len(indices) == 1:
            return nt.RV(name, indices[0])
        if indices is not None and len(indices) == 1 and name in self.sizes.gates:
            return nt.Gate(name, indices[0], _sympify(self.sizes.gates[name]))
        declared = _declared_name(name, indices)
        if declared in self.sizes.matrices and not name.isupper():  # a bias column such as b_{ii}
            return sp.MatrixSymbol(declared, *self.sizes.matrix_shape(declared))
        if name.isupper() and len(name) == 1 and name not in "TNVXYP":
            full = name if indices is None else f"{name}_{''.join(self.index_name(ix, tok) for ix in indices)}"
            return sp.MatrixSymbol(full, *self.sizes.matrix_shape(full))
        base = self.letter_symbol(name) if len(name) == 1 else self.greek(name)
        if indices is None:
            return base
        return sp.IndexedBase(name)[tuple(indices)]

    def index_name(self, ix, tok: Token) -> str:
        if isinstance(ix, sp.Symbol) and re.fullmatch(r"[A-Za-z]+", ix.name):
            return ix.name
        if isinstance(ix, sp.Integer):
            return str(ix)
        raise self.error("a matrix name's subscript must be a letter or a number", tok)

    def text_command(self):
        tok = self.take()
        kind, arg = tok.value, tok.arg
        if kind == "text":
            return nt.Text(arg.strip()) if WORD.match(arg.strip()) else self.refuse(tok)
        if kind == "mathfrak":
            return sp.Symbol(rf"\mathfrak{{{arg}}}")
        if kind == "mathbf":
            if arg == "1":
                return sp.OneMatrix(nt.N, 1)
            return self.refuse(tok)
        if kind in ACCENTS:
            if not re.fullmatch(r"[A-Za-z]", arg):
                return self.refuse(tok)
            return sp.Symbol(rf"\{kind}{{{arg}}}")
        if kind in ("operatorname", "mathrm", "mathit"):
            indices = self.subscripts()
            if self.at_open():
                return self.apply(arg, indices, tok)
            if arg == "argmax" and indices is not None:
                return nt.ArgMax(self.term(), sp.Tuple(*indices))
            if indices is None and len(arg) > 0:
                return sp.Symbol(arg)
        raise self.error(f"\\{kind}{{{arg}}} cannot be read here", tok)

    def refuse(self, tok: Token):
        raise self.error(f"\\{tok.value}{{{tok.arg}}} is not part of the notation", tok, RefusedName)

    def named_function(self, name: str, tok: Token):
        """``\\exp``, ``\\ln``, ``\\log``, ``\\tanh``: with an index, parentheses, or (not ``\\exp``) the rest of the
        product as the argument."""
        if self.at_sym("_"):
            indices = self.subscripts()
            return self.apply(name, indices, tok)
        if self.at_open() or (self.at_sym("{") and self.peek(1).kind == "cmd" and self.peek(1).value == "left"):
            return self.apply(name, None, tok)
        if name == "exp":
            raise self.error("\\exp needs parentheses", tok)
        return self.apply_value(name, self.term(), tok)

    def apply(self, name: str, indices: list | None, tok: Token):
        """``f(args)``, ``f\\left(args\\right)`` or SymPy's ``f{\\left(args \\right)}``."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        if not self.at_open():
            raise self.error(f"{name} needs its argument in parentheses", tok)
        args = self.arguments()
        if braced:
            self.expect_sym("}")
        if indices is not None:
            if len(indices) != 1 or len(args) != 1:
                raise self.error(f"{name}_{{...}}(...) takes one index and one argument", tok)
            return nt.FunctionEntry(name, indices[0], args[0])
        if len(args) == 1:
            return self.apply_value(name, args[0], tok)
        if all(isinstance(a, MatrixExpr) for a in args):
            return nt.Applied(name, *args)
        return sp.Function(name)(*args)

    def apply_value(self, name: str, arg, tok: Token):
        fn = FUNCTIONS.get(name)
        if isinstance(arg, MatrixExpr):
            if fn is not None:
                return nt.elementwise(fn, arg)
            return nt.Applied(name, arg)
        if fn is None:
            return sp.Function(name)(arg)
        return fn(arg, evaluate=False)


def _declared_name(name: str, indices: list | None) -> str:
    """``b`` with the subscript ``ii`` as the name ``b_ii`` (empty when the subscript is not letters or digits)."""
    if indices is None:
        return name
    parts = [str(ix) for ix in indices if isinstance(ix, (sp.Symbol, sp.Integer))]
    ok = len(parts) == len(indices) and all(re.fullmatch(r"[A-Za-z0-9]+", p_) for p_ in parts)
    return f"{name}_{''.join(parts)}" if ok else ""
