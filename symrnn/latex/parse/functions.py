"""Grammar: names and what they denote (vectors, matrices, gates, random variables, indexed entries, names with a
subscript such as ``W_{hx}`` or ``b_h``, bold and accented names, matrices at a time step ``\\mathbf{H}_t``),
function application (``g(...)``, ``\\sigma(...)``, ``\\operatorname{softmax}_j(...)``, ``\\exp``/``\\ln``/
``\\tanh``, ``\\mathrm{ReLU}``, abstract functions ``f(x, y)``, functions named with a subscript ``f_W(h, x)``,
derivatives ``\\sigma'(z)``, powers ``\\tanh^2(a)``), expectations ``\\mathbb{E}[x]`` and the text commands
(words, identifiers ``\\text{hidden\\_size}``, quoted words).

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
from symrnn.latex.parse.objects import Expectation, MatrixAt, applied
from symrnn.latex.parse.scripts import TextSubscript
from symrnn.latex.parse.tokens import ACCENTS, FUNCTIONS, GREEK, WORD, Token
from symrnn.ops import relu, sigmoid

#: Function names written as words (``\\operatorname{sigmoid}``, ``\\mathrm{ReLU}``) that mean a registered scalar
#: function, applied entrywise to a vector; ``softmax`` stays the notation's named vector function.
NAMED_FUNCTIONS = {"sigmoid": sigmoid, "relu": relu, "ReLU": relu, "ReLu": relu}
#: Words that ``\\text{...}``/``\\textrm{...}`` may apply as a function (elsewhere they are words); any other word
#: is applied only before a comma list (``\\text{prod}(a, b)``).
TEXT_FUNCTIONS = frozenset({"softmax", "sigmoid", "relu", "ReLU", "ReLu", "tanh", "exp", "log", "ln"})
#: Function names that casual Markdown writes in plain letters (``tanh(x)``, ``tanh^{'}(x)``): read as the function
#: when the whole word stands before ``(``, a prime or a power.
PLAIN_FUNCTIONS = frozenset({"tanh", "exp", "log", "sigmoid", "softmax", "relu", "ReLU"})
#: Bold-face commands: a lower-case letter is a vector, an upper-case one a matrix.
BOLD = frozenset({"mathbf", "boldsymbol", "bm"})
#: An identifier written as text, ``\\text{hidden\\_size}``: a number named in code (a size).
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+")
#: Words written as text outside a table (``\\text{batch size}``): letters, digits and spaces.
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9]+(?: +[A-Za-z0-9]+)*")


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
        if self.is_matrix_letter(name.rstrip("'")):
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
        """``W``, ``U_f``, ``W_{hx}``, ``\\mathbf{W}_\\textrm{hh}``: a matrix named by its letter and subscript;
        ``\\mathbf{H}_t``, ``\\mathbf{H}_{t-1}``: the matrix H at a time step (:class:`.objects.MatrixAt`)."""
        if indices is not None and len(indices) == 1 and self.is_time(indices[0]):
            return MatrixAt(sp.MatrixSymbol(name, *self.sizes.matrix_shape(name)), indices[0])
        full = name if indices is None else f"{name}_{''.join(self.index_name(ix, tok) for ix in indices)}"
        return sp.MatrixSymbol(full, *self.sizes.matrix_shape(full))

    def is_time(self, ix) -> bool:
        """A matrix's subscript that is a time step, not part of its name: a time letter (``Sizes.time_letters``:
        t, tau, T) or arithmetic (``t-1``, ``T+t-i``); a word (``hh``, ``xi``) or a number (``W_1``) names it."""
        if isinstance(ix, TextSubscript) or not isinstance(ix, sp.Expr) or isinstance(ix, nt.Dots):
            return False
        if isinstance(ix, sp.Symbol):
            return ix.name in self.sizes.time_letters
        return bool(ix.free_symbols) and not ix.is_Integer

    def name_suffix(self, name: str, indices: list | None) -> str | None:
        """The subscript when it is part of the name, else None (an index); the rule is in :class:`.sizes.Sizes`:
        text (``\\textrm{hh}``), a word of non-index letters (``x_{hh}``), one non-index letter after a parameter
        (``b_h``), or any word of two or more letters after a parameter (``b_{ih}``)."""
        if indices is None or len(indices) != 1 or not isinstance(indices[0], sp.Symbol):
            return None
        ix = indices[0]
        if isinstance(ix, TextSubscript):
            return ix.name
        letters = [ix.name] if ix.name in GREEK else list(ix.name)
        if not all(x in GREEK or re.fullmatch(r"[A-Za-z]", x) for x in letters):
            return None
        parameter = _letter_of(name) in self.sizes.parameters
        if parameter and len(letters) >= 2 and ix.name not in GREEK:  # b_{ih}, b_{hi}: PyTorch's biases
            return ix.name
        if self.sizes.is_index(letters):
            return None
        if len(letters) >= 2 or parameter:
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
        upper = letter[:1].isupper() and (len(letter) == 1 or bold)  # \\boldsymbol{\\Sigma}: a matrix
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
            return self.text_words(tok)
        if kind == "mathfrak":
            return sp.Symbol(rf"\mathfrak{{{arg}}}")
        if kind == "mathbb":  # \mathbb{E}[x], \mathbb{P}(A): the expectation and the probability
            if arg == "E" and self.at_sym("["):
                return self.expectation()
            if arg == "P" and self.at_open():
                return self.probability()
            raise self.error(f"\\mathbb{{{arg}}} cannot be read here", tok)
        if kind in BOLD:
            if arg in ("0", "1"):  # the vector of zeros or ones (its length from what it meets)
                return (sp.ZeroMatrix if arg == "0" else sp.OneMatrix)(nt.N, 1)
            if arg == "E" and self.at_sym("["):
                return self.expectation()
            if not (re.fullmatch(r"[A-Za-z]", arg) or tok.spec == "greek"):
                return self.refuse(tok)
            return self.styled(arg, tok, bold=True)
        if kind in ACCENTS:
            if not re.fullmatch(r"[A-Za-z]", arg):
                return self.refuse(tok)
            if self.at_sym("_") or arg.isupper():
                return self.styled(arg, tok, accent=kind)
            return sp.Symbol(rf"\{kind}{{{arg}}}")
        if kind in ("operatorname", "mathrm", "mathit", "mathop"):
            if arg == "E" and self.at_sym("["):
                return self.expectation()
            indices = self.subscripts()
            if self.at_open():
                return self.apply(arg, indices, tok)
            if arg == "argmax" and indices is not None:
                return nt.ArgMax(self.term(), sp.Tuple(*indices))
            if indices is None and len(arg) > 0:
                return sp.Symbol(arg)
        raise self.error(f"\\{kind}{{{arg}}} cannot be read here", tok)

    def text_words(self, tok: Token):
        """``\\text{...}`` as a factor: a function applied (``\\text{softmax}(x)``; any word before a comma list,
        ``\\text{prod}(a, b)``), a word (``\\text{Noun}``, a label), a quoted word (``\\text{"h"}``, the same
        label), an identifier (``\\text{hidden\\_size}``: the number it names in code), or words
        (``\\text{batch size}``, what a size is, :class:`symrnn.notation.Words`).  Punctuation is refused: it
        belongs to a table's words."""
        word = tok.arg.strip()
        if not self.in_table and self.at_open() and (word in TEXT_FUNCTIONS or (WORD.match(word)
                                                                               and self.comma_list_ahead())):
            return self.apply(word, None, tok)
        if WORD.match(word):
            return nt.Text(word)
        if len(word) > 2 and word[0] == word[-1] == '"' and WORD.match(word[1:-1]):
            return nt.Text(word[1:-1])
        if _IDENTIFIER.fullmatch(word):
            return sp.Symbol(word)
        if _PLAIN_WORDS.fullmatch(word) and not self.in_table:
            return nt.Words(word)
        return self.refuse(tok)

    def refuse(self, tok: Token):
        raise self.error(f"\\{tok.value}{{{tok.arg}}} is not part of the notation", tok, RefusedName)

    def named_function(self, name: str, tok: Token):
        """``\\exp``, ``\\ln``, ``\\log``, ``\\tanh``: with an index, parentheses, or (not ``\\exp``) the rest of the
        product as the argument; ``\\tanh'(a)`` (also ``\\tanh^{\\prime}``) is its derivative at a, ``\\tanh^2(a)``
        the square of its value."""
        primes = self.primes()
        caret = exponent = None
        if not primes and self.at_sym("^"):  # \\tanh^2(a) = (\\tanh a)^2
            caret = self.take()
            exponent = self.script()
        if self.at_sym("_") and not primes and caret is None:
            indices = self.subscripts()
            return self.apply(name, indices, tok)
        if self.at_open() or (self.at_sym("{") and self.peek(1).kind == "cmd" and self.peek(1).value == "left"):
            value = self.apply(name, None, tok, primes)
        elif name == "exp":
            raise self.error("\\exp needs parentheses", tok)
        else:
            value = self.apply_value(name, self.term(), tok, primes)
        if caret is None:
            return value
        if not (isinstance(exponent, sp.Integer) and exponent > 0):  # \\tanh^{-1}: the inverse, not read
            raise self.error(f"\\{name}^{{...}} is read with a positive whole power only (\\{name}^2(a))", caret)
        return self.power(value, exponent, caret, sp.HadamardPower if isinstance(value, MatrixExpr) else sp.Pow)

    def apply(self, name: str, indices: list | None, tok: Token, primes: int = 0):
        """``f(args)``, ``f\\left(args\\right)`` or SymPy's ``f{\\left(args \\right)}``; with a subscript, an
        entry of a vector function (``\\operatorname{softmax}_j(\\vec{v})``: the subscript an index letter, one
        argument) or a function named with its subscript (``f_W(h, x)``, ``\\phi_l(z)``, ``h_t(w, h)``)."""
        braced = self.at_sym("{")
        if braced:
            self.take()
        if not self.at_open():
            raise self.error(f"{name} needs its argument in parentheses", tok)
        args = self.arguments()
        if braced:
            self.expect_sym("}")
        loss = name in self.sizes.losses  # \\ell_t(y_t, o_t): the loss at t, a number
        if indices is not None:
            if len(indices) != 1:
                raise self.error(f"{name}_{{...}}(...) takes one index", tok)
            index = sp.Symbol(indices[0].name) if isinstance(indices[0], TextSubscript) else indices[0]
            entry = isinstance(index, sp.Integer) or (
                isinstance(index, sp.Symbol) and not isinstance(indices[0], TextSubscript)
                and self.sizes.is_index([index.name] if index.name in GREEK else list(index.name)))
            if len(args) == 1 and not loss and (entry or not isinstance(index, (sp.Symbol, sp.Integer))):
                return nt.FunctionEntry(name, index, args[0])
            if not isinstance(index, (sp.Symbol, sp.Integer)) or not re.fullmatch(r"[A-Za-z0-9]+", str(index)):
                raise self.error(f"{name}_{{...}}(...) with several arguments needs a name as its subscript", tok)
            name = f"{name}_{index}"
        if len(args) == 1:
            return self.apply_value(name, args[0], tok, primes, loss)
        if primes:
            raise self.error(f"the derivative of {name} of several arguments is not read", tok)
        if isinstance(args[0], MatrixExpr) and not loss:
            return applied(name, *args)  # a vector function: valued as its first argument, g(U h, W x)
        return sp.Function(name)(*args)

    def apply_value(self, name: str, arg, tok: Token, primes: int = 0, loss: bool | None = None):
        if primes:
            return self.derivative_at(name, arg, primes, tok)
        fn = FUNCTIONS.get(name, NAMED_FUNCTIONS.get(name))
        if isinstance(arg, MatrixExpr):
            if fn is not None:
                return nt.elementwise(fn, arg)
            if name in self.sizes.losses or loss:
                return sp.Function(name)(arg)
            return applied(name, arg)
        if fn is None:
            return sp.Function(name)(arg)
        return fn(arg, evaluate=False)

    def derivative_at(self, name: str, arg, order: int, tok: Token):
        """``\\sigma'(z)``, ``f''(x)``: the derivative of a function of one variable at ``arg``, unevaluated:
        ``Derivative(f(z), z)`` at a symbol, else ``Subs(Derivative(f(u), u), u, arg)`` (SymPy's own form), and
        entrywise on a vector (``\\tanh'(\\mathbf{a})``)."""
        if order > 3:
            raise self.error("more than three primes", tok)
        fn = FUNCTIONS.get(name, NAMED_FUNCTIONS.get(name))
        if fn is None and name == "softmax":
            raise self.error("the derivative of a vector function is not read", tok)
        u = sp.Symbol("u")
        of = fn(u, evaluate=False) if fn is not None else sp.Function(name)(u)
        derivative = sp.Derivative(of, (u, order))
        if isinstance(arg, MatrixExpr):
            return nt.elementwise(sp.Lambda(u, derivative), arg)
        if isinstance(arg, sp.Symbol):
            return derivative.xreplace({u: arg})
        return sp.Subs(derivative, u, arg)

    def primes(self) -> int:
        """How many primes follow: ``'``, ``''``, ``^{'}``, ``^\\prime``, ``^{\\prime\\prime}`` (consumed)."""
        count = 0
        while self.at_sym("'"):
            self.take()
            count += 1
        if count or not self.at_sym("^"):
            return count
        ahead = 1
        braced = self.at("sym", "{", ahead=1)
        ahead += braced
        n = 0
        while self.at("sym", "'", ahead=ahead + n) or self.at("cmd", "prime", ahead=ahead + n):
            n += 1
        if n == 0 or (braced and not self.at("sym", "}", ahead=ahead + n)) or (not braced and n > 1):
            return 0
        for _ in range(ahead + n + braced):
            self.take()
        return n

    def expectation(self):
        """``\\mathbb{E}[x]``, ``\\mathbf{E}[x]``, ``E[x]``: the expected value of what the brackets hold."""
        self.expect_sym("[")
        inner = self.relation()
        self.expect_sym("]", "to close the expectation")
        return Expectation(inner)


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
