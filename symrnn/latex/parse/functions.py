"""Grammar: names and what they denote (vectors, matrices, gates, random variables, indexed entries, names with a
subscript such as ``W_{hx}`` or ``b_h``, bold and accented names), function application (``g(...)``,
``\\sigma(...)``, ``\\operatorname{softmax}_j(...)``, ``\\exp``/``\\ln``/``\\tanh``, ``\\mathrm{ReLU}``,
abstract functions ``f(x, y)``) and the text commands.

Sizes come from the parser's :class:`.sizes.Sizes`, which also says which subscripts are indices.  A known function
of a vector acts entrywise (``\\exp``, ``\\ln``, ``\\tanh``, ``\\sigma``, ReLU); any other is a named vector
function (:class:`symrnn.notation.Applied`) or, of scalars, an undefined SymPy function.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.sympify import _sympify  # strict: refuses strings
from sympy.matrices.expressions import MatrixExpr

from symrnn import notation as nt
from symrnn.latex.parse.core import ParserCore
from symrnn.latex.parse.errors import RefusedName
from symrnn.latex.parse.scripts import TextSubscript
from symrnn.latex.parse.tokens import ACCENTS, FUNCTIONS, GREEK, WORD, Token
from symrnn.ops import relu, sigmoid

#: Function names written as words (``\\operatorname{sigmoid}``, ``\\mathrm{ReLU}``) that mean a registered scalar
#: function, applied entrywise to a vector; ``softmax`` stays the notation's named vector function.
NAMED_FUNCTIONS = {"sigmoid": sigmoid, "relu": relu, "ReLU": relu, "ReLu": relu}
#: Words that ``\\text{...}``/``\\textrm{...}`` may apply as a function (elsewhere they are words).
TEXT_FUNCTIONS = frozenset({"softmax", "sigmoid", "relu", "ReLU", "ReLu", "tanh", "exp", "log", "ln"})
#: Bold-face commands: a lower-case letter is a vector, an upper-case one a matrix.
BOLD = frozenset({"mathbf", "boldsymbol", "bm"})


class FunctionsMixin(ParserCore):
    """Names, function application and text commands."""

    def name(self, name: str, indices: list | None, tok: Token, vector: bool = False):
        if vector:
            return self.vector(name, indices, tok)
        one = indices is not None and len(indices) == 1 and not isinstance(indices[0], TextSubscript)
        if name in ("X", "Y") and one:
            return nt.RV(name, indices[0])
        if one and name in self.sizes.gates:
            return nt.Gate(name, indices[0], _sympify(self.sizes.gates[name]))
        if self.is_matrix_letter(name):
            return self.matrix(name, indices, tok)
        suffix = self.name_suffix(name, indices)
        declared = _declared_name(name, indices) if suffix is None else f"{name}_{suffix}"
        if declared in self.sizes.matrices and not name.isupper():  # a bias column such as b_{ii}
            return sp.MatrixSymbol(declared, *self.sizes.matrix_shape(declared))
        if suffix is not None:
            return sp.Symbol(declared)  # b_h, x_{hh}: prints back as b_{h}
        base = self.letter_symbol(name) if len(name) == 1 else self.greek(name)
        if indices is None:
            return base
        return sp.IndexedBase(name)[tuple(indices)]

    def is_matrix_letter(self, name: str) -> bool:
        """An upper-case letter that is neither a number (``Sizes.scalar_letters``: T, N, V, L) nor X, Y, P."""
        return len(name) == 1 and name.isupper() and name not in "XYP" and name not in self.sizes.scalar_letters

    def vector(self, name: str, indices: list | None, tok: Token):
        """``\\vec{h}_t``, ``\\mathbf{h}_t``: a vector at a time; ``\\mathbf{b}_h``, ``\\vec{h}``: a named vector."""
        suffix = self.name_suffix(name, indices)
        if suffix is not None or indices is None:
            full = name if suffix is None else f"{name}_{suffix}"
            return sp.MatrixSymbol(full, self.sizes.vector_size(full), 1)
        if len(indices) != 1:
            raise self.error(f"the vector {name} takes one time index", tok)
        return nt.Vec(name, indices[0], self.sizes.vector_size(name))

    def matrix(self, name: str, indices: list | None, tok: Token):
        """``W``, ``U_f``, ``W_{hx}``, ``\\mathbf{W}_\\textrm{hh}``: a matrix named by its letter and subscript."""
        full = name if indices is None else f"{name}_{''.join(self.index_name(ix, tok) for ix in indices)}"
        return sp.MatrixSymbol(full, *self.sizes.matrix_shape(full))

    def name_suffix(self, name: str, indices: list | None) -> str | None:
        """The subscript when it is part of the name, else None (an index); the rule is in :class:`.sizes.Sizes`:
        text (``\\textrm{hh}``), a word of non-index letters (``x_{hh}``), or one non-index letter after a
        parameter (``b_h``)."""
        if indices is None or len(indices) != 1 or not isinstance(indices[0], sp.Symbol):
            return None
        ix = indices[0]
        if isinstance(ix, TextSubscript):
            return ix.name
        letters = [ix.name] if ix.name in GREEK else list(ix.name)
        if not all(x in GREEK or re.fullmatch(r"[A-Za-z]", x) for x in letters) or self.sizes.is_index(letters):
            return None
        if len(letters) >= 2 or _letter_of(name) in self.sizes.parameters:
            return ix.name
        return None

    def index_name(self, ix, tok: Token) -> str:
        if isinstance(ix, sp.Symbol) and re.fullmatch(r"[A-Za-z]+", ix.name):
            return ix.name
        if isinstance(ix, sp.Integer):
            return str(ix)
        raise self.error("a matrix name's subscript must be a letter or a number", tok)

    def styled(self, letter: str, tok: Token, bold: bool = False, accent: str | None = None):
        """A bold or accented letter with its subscripts: ``\\mathbf{h}_t`` is ``\\vec{h}_t``, ``\\mathbf{W}`` is
        ``W``; ``\\tilde{\\mathbf{h}}_t`` the vector named ``htilde`` (printed ``\\vec{\\tilde{h}}_t``),
        ``\\hat{y}_t`` the scalar ``\\hat{y}`` at t, ``\\tilde{W}`` the matrix ``\\tilde{W}``."""
        indices = self.subscripts()
        upper = len(letter) == 1 and letter.isupper()
        if upper and (bold or self.is_matrix_letter(letter)):
            return self.matrix(letter if accent is None else rf"\{accent}{{{letter}}}", indices, tok)
        if bold:
            return self.vector(letter + (accent or ""), indices, tok)
        if accent is None:
            return self.name(letter, indices, tok)
        shown = letter if len(letter) == 1 else f"\\{letter}"
        return self.name(rf"\{accent}{{{shown}}}", indices, tok)

    def accented(self, tok: Token):
        """``\\tilde{\\mathbf{h}}``, ``\\hat{\\vec{y}}``, ``\\bar{\\sigma}``, ``\\hat{y}``: an accent over a name (the
        tokeniser hands over the accent alone when its argument is a command)."""
        self.expect_sym("{", f"after \\{tok.value}")
        inner = self.take()
        bold = False
        if inner.kind == "text" and inner.value in BOLD and re.fullmatch(r"[A-Za-z]", inner.arg):
            letter, bold = inner.arg, True
        elif inner.kind == "cmd" and inner.value == "vec":
            letter, bold = self.take_group_name(inner), True
        elif inner.kind == "letter" or (inner.kind == "cmd" and inner.value in GREEK):
            letter = inner.value
        else:
            raise self.error(f"\\{tok.value} takes a letter, a Greek letter or a bold letter", inner)
        self.expect_sym("}", f"to close \\{tok.value}")
        return self.styled(letter, tok, bold=bold, accent=tok.value)

    def text_command(self):
        tok = self.take()
        kind, arg = tok.value, tok.arg
        if kind == "text":
            if arg.strip() in TEXT_FUNCTIONS and not self.in_table and self.at_open():
                return self.apply(arg.strip(), None, tok)
            return nt.Text(arg.strip()) if WORD.match(arg.strip()) else self.refuse(tok)
        if kind == "mathfrak":
            return sp.Symbol(rf"\mathfrak{{{arg}}}")
        if kind in BOLD:
            if arg == "1" and kind == "mathbf":
                return sp.OneMatrix(nt.N, 1)
            if not re.fullmatch(r"[A-Za-z]", arg):
                return self.refuse(tok)
            return self.styled(arg, tok, bold=True)
        if kind in ACCENTS:
            if not re.fullmatch(r"[A-Za-z]", arg):
                return self.refuse(tok)
            if self.at_sym("_") or arg.isupper():
                return self.styled(arg, tok, accent=kind)
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
            index = sp.Symbol(indices[0].name) if isinstance(indices[0], TextSubscript) else indices[0]
            return nt.FunctionEntry(name, index, args[0])
        if len(args) == 1:
            return self.apply_value(name, args[0], tok)
        if isinstance(args[0], MatrixExpr) and name not in self.sizes.losses:
            return nt.Applied(name, *args)  # a vector function: valued as its first argument, g(U h, W x)
        return sp.Function(name)(*args)

    def apply_value(self, name: str, arg, tok: Token):
        fn = FUNCTIONS.get(name, NAMED_FUNCTIONS.get(name))
        if isinstance(arg, MatrixExpr):
            if fn is not None:
                return nt.elementwise(fn, arg)
            if name in self.sizes.losses:
                return sp.Function(name)(arg)
            return nt.Applied(name, arg)
        if fn is None:
            return sp.Function(name)(arg)
        return fn(arg, evaluate=False)


def _letter_of(name: str) -> str:
    """The letter a name is written with: ``htilde`` is ``h`` (SymPy's accent suffixes)."""
    for accent in ("tilde", "hat", "bar"):
        if name.endswith(accent) and len(name) > len(accent):
            return name[:-len(accent)]
    return name


def _declared_name(name: str, indices: list | None) -> str:
    """``b`` with the subscript ``ii`` as the name ``b_ii`` (empty when the subscript is not letters or digits)."""
    if indices is None:
        return name
    parts = [str(ix) for ix in indices if isinstance(ix, (sp.Symbol, sp.Integer))]
    ok = len(parts) == len(indices) and all(re.fullmatch(r"[A-Za-z0-9]+", p_) for p_ in parts)
    return f"{name}_{''.join(parts)}" if ok else ""
