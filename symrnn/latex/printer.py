"""LaTeX in the lecture's own notation: a subclass of SymPy's ``LatexPrinter``.

Vectors print as ``\\vec{h}_{t}``, elementwise functions as ``\\exp\\left(...\\right)`` (never SymPy's
``d \\mapsto e^{d}``), probabilities as ``P(Y_{t} = j | Y_{t-1} = i)``, scalar-factored matrices as
``\\frac{1}{10}\\begin{bmatrix}...\\end{bmatrix}``.  Products keep the order in which they were built.

Names are never printed raw.  A function's name (SymPy's ``Function("f")``, ``Applied``, ``FunctionEntry``) must
be a plain identifier (ASCII letters, digits and underscores); a symbol's, matrix's or text's name may also be
LaTeX made only of formatting commands (Greek letters, accents, fonts, ``\\operatorname``, ``\\text``,
``\\dots``, ...), with balanced braces and none of ``% # $ & ~ ^^``.  Anything else is **refused**, not escaped:
:class:`UnsafeName` (a ``ValueError``) names the object and what is wrong, so that no name can run a TeX command
(``\\input``, ``\\write``, ``\\def``, ``\\catcode``) or close a group it did not open.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter, translate

from symrnn import notation as nt
from symrnn.latex.style import PARENTHESISED, Style
from symrnn.ops import registry

#: Names that the lecture's notation gives a registered function (``\sigma(...)`` is read as ``sigma``).

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GREEK = """alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi omicron pi
    varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon
    Phi Psi Omega"""
#: Commands a name may hold: they typeset, and none of them reads a file, writes, defines or changes catcodes.
SAFE_COMMANDS = frozenset(f"""{_GREEK} vec hat bar tilde dot ddot dddot ddddot breve check acute grave mathring
    overline underline widehat widetilde boldsymbol mathbf mathrm mathit mathfrak mathcal mathscr mathsf mathtt
    operatorname text textrm textit textbf frac left right dots ldots cdots vdots ddots cdot times odot oslash circ
    partial nabla infty prime ell hbar sum prod max min exp ln log tanh sin cos approx leftarrow rightarrow neq ne
    leq le geq ge mid top langle rangle lvert rvert vert quad qquad""".split())
_SAFE_CONTROL_SYMBOLS = frozenset(",;:! {}_|%#&$")  # \, \; ... spacing, and escaped specials printed as themselves
_SAFE_CHARACTERS = frozenset("_^{}()[],.;:'+-*/=<>|! ")
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(.)", re.S)


class UnsafeName(ValueError):
    """A name that the printer refuses: it could run TeX commands or unbalance the braces around it."""


def _problem(name: str) -> str | None:
    """What makes ``name`` unsafe as LaTeX (None: it is safe)."""
    if "^^" in name:
        return "it holds ^^ (TeX's character-code escape)"
    depth = 0
    for m in _TOKEN.finditer(name):
        command, char = m.groups()
        if command is not None and command not in (SAFE_COMMANDS if command[0].isalpha() else _SAFE_CONTROL_SYMBOLS):
            return f"it holds the command \\{command}"
        if char is not None and not (char.isalnum() or char in _SAFE_CHARACTERS):
            return f"it holds the character {char!r}"
        depth += {"{": 1, "}": -1}.get(char or "", 0)
        if depth < 0:
            return "it closes a brace it did not open"
    return "it leaves a brace open" if depth else None


def safe_name(name: object, what: str, latex_allowed: bool = True, printed: str | None = None) -> str:
    """``printed`` (default: ``name`` as text) if ``name`` may be printed: a plain identifier, or (``latex_allowed``)
    LaTeX of formatting commands only (:data:`SAFE_COMMANDS`, balanced braces) that still is after SymPy has split it
    into sub- and superscripts (``printed``); else :class:`UnsafeName` naming ``what`` and the problem."""
    text = str(name)
    out = text if printed is None else printed
    if _IDENTIFIER.fullmatch(text):
        return out
    if not latex_allowed:
        problem = "a function's name must be letters, digits and underscores"
    else:
        problem = _problem(text) or (None if printed is None else _problem(printed))
    if problem is not None:
        raise UnsafeName(f"refused to print the {what} named {text[:80]!r} as LaTeX: {problem}")
    return out


class _Printed(sp.Symbol):
    """LaTeX this printer has already made (a parenthesised argument), standing in a body as a symbol."""

    def _lecture_latex(self, printer) -> str:
        return self.name
_ALIASES = {"sigma": "sigmoid"}


def _registered_latex(name: str) -> str | None:
    """The LaTeX name of the scalar function registered as ``name`` in :mod:`symrnn.ops` (None if none)."""
    name = _ALIASES.get(name, name)
    found = next((s.latex for s in reversed(registry.scalars()) if s.func.__name__ == name), None)
    return None if found is None else safe_name(found, f"registered LaTeX of the function {name}")


_ACCENTED = re.compile(r"\\(tilde|hat|bar|check|breve|dot|ddot)\{(.+)\}")


def _styled(letter: str, command: str) -> str:
    """``letter`` inside ``command`` (none: as it is); an accent stays outside: ``\\tilde{\\mathbf{h}}``."""
    if not command:
        return letter
    if command == r"\mathbf" and re.fullmatch(r"\\[a-z]+", letter):  # \mathbf leaves a lower-case Greek letter upright
        command = r"\boldsymbol"
    accented = _ACCENTED.fullmatch(letter)
    if accented:
        return rf"\{accented.group(1)}{{{command}{{{accented.group(2)}}}}}"
    return rf"{command}{{{letter}}}"


class LecturePrinter(LatexPrinter):
    """Print SymPy objects the way Lecture 25 writes them."""

    printmethod = "_lecture_latex"
    _default_settings = {**LatexPrinter._default_settings, "order": "none", "ln_notation": True,
                         "mat_str": "bmatrix", "mat_delim": "", "style": None}

    # ---- names: never printed raw (the module's docstring) ----
    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        text = super()._print_Symbol(expr, style)
        if expr in self._settings["symbol_names"]:  # the caller's own LaTeX for it
            return text
        return safe_name(expr.name, "symbol", printed=text)

    _print_RandomSymbol = _print_Symbol

    def _print_Str(self, expr) -> str:
        return safe_name(expr.name, "name")

    def _hprint_Function(self, func: str) -> str:
        return super()._hprint_Function(safe_name(func, "function", latex_allowed=False))

    def _print_Add(self, expr, order=None) -> str:
        # Index arithmetic reads t - 1 (not -1 + t); sums of larger terms keep the order they were built in.
        simple = all(a.is_Atom or (a.is_Mul and all(f.is_Atom for f in a.args)) for a in expr.args)
        return super()._print_Add(expr, order="lex" if simple else "none")

    # ---- vectors and matrices ----
    def labelled_vector(self, letter: str, label: str, time: sp.Basic) -> str:
        """A vector ``letter`` with a label, at ``time``, in the style: ``\\vec{\\rho}^{c}_{t}`` (the lecture's),
        ``\\boldsymbol{\\rho}^{c}_{t}``, ``\\rho^{c}_{t}``; with time above, the label below:
        ``\\boldsymbol{\\rho}_{c}^{(t)}``."""
        style: Style | None = self._settings["style"]
        when = self._print(time)
        if style is None:
            return rf"\vec{{{letter}}}^{{{label}}}_{{{when}}}"
        letter = _styled(letter, style.vector)
        if style.time == PARENTHESISED:
            return rf"{{{letter}_{{{label}}}^{{({when})}}}}"
        return rf"{letter}^{{{label}}}_{{{when}}}"

    def _print_Vec(self, expr: nt.Vec) -> str:
        base = safe_name(expr.base, "vector", printed=translate(str(expr.base)))
        style: Style | None = self._settings["style"]
        if style is None:
            return rf"\vec{{{base}}}_{{{self._print(expr.time)}}}"
        letter = _styled(base, style.vector)
        if style.time == PARENTHESISED:  # braced, so that a power or a transpose after it is not a double superscript
            return rf"{{{letter}^{{({self._print(expr.time)})}}}}"
        return rf"{letter}_{{{self._print(expr.time)}}}"

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        base, _, sub = safe_name(expr.name, "matrix").partition("_")
        style: Style | None = self._settings["style"]
        if style is not None:
            if base.isalpha():  # a name as the author wrote it (symrnn's own, LaTeX-named symbols print as they are)
                column = expr.shape[1] == 1 and base[0].islower()
                base = _styled(translate(base), style.vector if column else style.matrix)
                if sub and expr.name in style.labels_above:
                    return safe_name(expr.name, "matrix", printed=f"{{{base}^{{{sub}}}}}")
        elif base in nt.VECTORS and expr.shape[1] == 1:
            base = rf"\vec{{{translate(base)}}}"
        return safe_name(expr.name, "matrix", printed=f"{base}_{{{sub}}}" if sub else base)

    def _print_ScaledMatrix(self, expr: nt.ScaledMatrix) -> str:
        return self._print(expr.factor) + self._print(expr.matrix)

    def _print_DotsMatrix(self, expr: nt.DotsMatrix) -> str:
        rows, cols = expr.shape
        if cols == 1:
            return (r"\begin{bmatrix}" + self._print(expr.entry_symbol(1, 1)) + r"\\ \vdots \\"
                    + self._print(expr.entry_symbol(rows, 1)) + r"\end{bmatrix}")
        first = self._print(expr.entry_symbol(1, 1)) + r" & \cdots & " + self._print(expr.entry_symbol(1, cols))
        last = self._print(expr.entry_symbol(rows, 1)) + r" & \cdots & " + self._print(expr.entry_symbol(rows, cols))
        return r"\begin{bmatrix}" + first + r"\\ \vdots & \ddots & \vdots \\" + last + r"\end{bmatrix}"

    def _print_OneMatrix(self, expr) -> str:
        return r"\mathbf{1}" if expr.shape[1] == 1 else r"\mathbf{1}\mathbf{1}^{T}"

    def _print_ElementwiseApplyFunction(self, expr) -> str:
        dummy = expr.function.variables[0]
        body = expr.function.expr
        inner = self._print(expr.expr)
        if isinstance(body, sp.Function) and body.args == (dummy,):
            entry = registry.find(body.func)  # a function of the table prints as its registered name
            name = safe_name(entry.latex, f"registered LaTeX of the function {body.func.__name__}") \
                if isinstance(entry, registry.Scalar) else \
                self._print(sp.Symbol(safe_name(body.func.__name__, "function", latex_allowed=False)))
            return rf"{name}\left({inner}\right)"
        return self._print(body.subs(dummy, _Printed(r"\left(" + inner + r"\right)")))

    def _print_HadamardProduct(self, expr) -> str:
        return r" \odot ".join(self._wrap(arg) for arg in expr.args)

    def _wrap(self, arg) -> str:
        text = self._print(arg)
        compound = isinstance(arg, (sp.MatMul, sp.MatAdd, sp.HadamardProduct)) or (
            # an entrywise map printed as its body (``1 - h^2``), not as a call: ``a \odot 1 - h^2`` would misread
            type(arg).__name__ == "ElementwiseApplyFunction" and isinstance(arg.function.expr, (sp.Add, sp.Mul)))
        return rf"\left({text}\right)" if compound else text

    # ---- probability notation ----
    def _print_RV(self, expr: nt.RV) -> str:
        return f"{safe_name(expr.name, 'random variable')}_{{{self._print(expr.time)}}}"

    def _print_Is(self, expr: nt.Is) -> str:
        return f"{self._print(expr.rv)} = {self._print(expr.value)}"

    def _print_Dots(self, expr) -> str:
        return r"\dots"

    def _print_Span(self, expr: nt.Span) -> str:
        a, b = self._print(expr.start), self._print(expr.stop)
        if not expr.states:
            return f"X_{{{a}}}, \\dots, X_{{{b}}}"
        return f"Y_{{{a}}}, X_{{{a}}}, \\dots, Y_{{{b}}}, X_{{{b}}}"

    def _print_P(self, expr: nt.P) -> str:
        events = ", ".join(self._print(e) for e in expr.events)
        if expr.given:
            events += " | " + ", ".join(self._print(g) for g in expr.given)
        return f"P({events})"

    def _print_Mul(self, expr, **kwargs) -> str:
        """A product holding factors that the reader lets take the rest of the product (``\\sum_i``, ``\\max_i``,
        a bare ``\\ln``): the others first, then those, each but the last in parentheses, so that
        ``\\sum_{i} i e^{i}`` (which would mean ``\\sum_i (i e^i)``) is never printed."""
        greedy = [a for a in expr.args if self._takes_the_rest(a)]
        if not greedy or len(expr.args) == 1:
            return super()._print_Mul(expr, **kwargs)
        rest = sp.Mul(*[a for a in expr.args if not self._takes_the_rest(a)])
        sign = ""
        if rest.could_extract_minus_sign():
            sign, rest = "- ", -rest
        parts = [] if rest == 1 else [rf"\left({self._print(rest)}\right)" if isinstance(rest, sp.Add)
                                      else self._print(rest)]
        printed = [self._print(g) for g in greedy]
        parts += [rf"\left({t}\right)" for t in printed[:-1]] + printed[-1:]
        return sign + " ".join(parts)

    def _print_Pow(self, expr, **kwargs) -> str:
        """A power of a sum over states is parenthesised: ``\\sum_{i} i^{2}`` is the sum of squares."""
        if self._takes_the_rest(expr.base) and not isinstance(expr.base, sp.log):
            return rf"\left({self._print(expr.base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr, **kwargs)

    def _takes_the_rest(self, factor) -> bool:
        if isinstance(factor, nt.StateSum):
            return True
        return isinstance(factor, sp.log) and not self._print(factor).startswith(r"\ln\left(")

    def _print_StateSum(self, expr: nt.StateSum) -> str:
        return rf"\sum_{{{self._print(expr.index)}}} {self._body(expr.expr)}"

    def _print_StateMax(self, expr: nt.StateMax) -> str:
        return rf"\max_{{{self._print(expr.index)}}} {self._body(expr.expr)}"

    def _body(self, body) -> str:
        """A bound operator's body; a sum is parenthesised (``\\sum_{j} a + b`` would read as ``(\\sum_{j} a) + b``)."""
        text = self._print(body)
        return rf"\left({text}\right)" if isinstance(body, (sp.Add, sp.MatAdd)) else text

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        base = safe_name(expr.base.label, "indexed object", printed=translate(str(expr.base.label)))
        return f"{base}_{{{','.join(self._print(ix) for ix in expr.indices)}}}"

    def _print_log(self, expr, exp=None) -> str:
        arg = expr.args[0]
        if isinstance(arg, (nt.P, nt.StateSum, sp.Indexed, sp.Symbol)):
            text = rf"\ln {self._print(arg)}"
        else:
            text = rf"\ln\left({self._print(arg)}\right)"
        return rf"\left({text}\right)^{{{exp}}}" if exp is not None else text  # \ln i^{2} would be ln(i^2)

    def _print_Piecewise(self, expr) -> str:
        rows = []
        for value, cond in expr.args:
            if isinstance(cond, sp.Eq) and isinstance(cond.rhs, nt.RV):
                cond = sp.Eq(cond.rhs, cond.lhs, evaluate=False)  # the variable first: X_t = k
            cond_text = r"\text{otherwise}" if cond is sp.true else self._print(cond)
            rows.append(f"{self._print(value)} & {cond_text}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"

    def _print_Approx(self, expr) -> str:
        return rf"{self._print(expr.lhs)} \approx {self._print(expr.rhs)}"

    def _print_Assign(self, expr) -> str:
        return rf"{self._print(expr.lhs)} \leftarrow {self._print(expr.rhs)}"

    # ---- the RNN section ----
    def _function_name(self, name: str) -> str:
        """``g`` stays ``g``; registered functions print as their ``Scalar.latex`` (``\\tanh``, ``\\sigma``); other
        words as ``\\operatorname``."""
        registered = _registered_latex(safe_name(name, "function", latex_allowed=False))
        if registered is not None:
            return registered
        return name if len(name) == 1 else rf"\operatorname{{{name}}}"

    def _print_Applied(self, expr: nt.Applied) -> str:
        args = ", ".join(self._print(a) for a in expr.arguments)
        return rf"{self._function_name(expr.name)}\left({args}\right)"

    def _print_FunctionEntry(self, expr: nt.FunctionEntry) -> str:
        return (rf"{self._function_name(expr.name)}_{{{self._print(expr.index)}}}"
                rf"\left({self._print(expr.argument)}\right)")

    def _print_VecShift(self, expr: nt.VecShift) -> str:
        shift = expr.shift
        sign, size = ("-", -shift) if shift.could_extract_minus_sign() else ("+", shift)
        return f"{self._print(expr.vector)} {sign} {self._print(size)}"

    def _print_Text(self, expr: nt.Text) -> str:
        return rf"\text{{{safe_name(expr.name, 'text')}}}"

    def _print_OneIf(self, expr: nt.OneIf) -> str:
        return rf"1 \text{{ if }} {self._print(expr.event)}"

    def _print_Rounded(self, expr: nt.Rounded) -> str:
        return expr.decimal()

    def _print_Chain(self, expr: nt.Chain) -> str:
        out = self._print(expr.terms[0])
        for rel, term in zip(expr.relations, expr.terms[1:], strict=True):
            out += (r" \approx " if rel == "approx" else " = ") + self._print(term)
        return out

    # ---- derivatives and argmax (read back by symrnn.parse) ----
    def _print_TotalDerivative(self, expr: nt.TotalDerivative) -> str:
        d = r"\partial " if isinstance(expr, nt.PartialDerivative) else "d"
        return rf"\frac{{{d}{self._print(expr.expr)}}}{{{d}{self._print(expr.variable)}}}"

    def _print_PartialDerivative(self, expr: nt.PartialDerivative) -> str:
        return self._print_TotalDerivative(expr)

    def _print_LayerCopy(self, expr: nt.LayerCopy) -> str:
        return rf"{self._print(expr.matrix)}^{{({self._print(expr.step)})}}"

    def _print_ArgMax(self, expr: nt.ArgMax) -> str:
        names = ", ".join(self._print(v) for v in expr.variables)
        return rf"\operatorname{{argmax}}_{{{names}}} {self._print(expr.expr)}"

    # ---- the LSTM section ----
    def _print_Gate(self, expr: nt.Gate) -> str:
        base = safe_name(expr.base, "gate", printed=translate(str(expr.base)))
        return rf"{base}_{{{self._print(expr.time)}}}"

    def _print_Juxtaposed(self, expr: nt.Juxtaposed) -> str:
        return " ".join(self._wrap(arg) for arg in expr.factors)

    def _print_VecDerivative(self, expr: nt.VecDerivative) -> str:
        d = r"\partial " if expr.partial else "d"
        return rf"\frac{{{d}{self._print(expr.expr)}}}{{{d}{self._print(expr.variable)}}}"

    def _print_Words(self, expr: nt.Words) -> str:
        return rf"\text{{{safe_name(expr.text, 'text')}}}"

    def _print_Table(self, expr: nt.Table) -> str:
        def cell(c) -> str:
            return r"\ ".join(self._print(p) for p in c) if isinstance(c, sp.Tuple) else self._print(c)
        lines = [" & ".join(self._print(h) for h in expr.header)]
        lines += [" & ".join(cell(c) for c in row) for row in expr.rows]
        cols = "l" * len(expr.header)
        return rf"\begin{{array}}{{{cols}}} " + r" \\ ".join(lines) + r" \end{array}"


def latex(expr, **settings) -> str:
    """LaTeX for ``expr`` in the lecture's notation; a tuple of relations prints comma-separated."""
    if isinstance(expr, tuple):
        return ", ".join(latex(e, **settings) for e in expr)
    return LecturePrinter(settings).doprint(expr)


_LEFT_RIGHT = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr)(?![a-zA-Z])")
_SINGLE = re.compile(r"([_^])\{([A-Za-z0-9])\}")


def normalise(text: str) -> str:
    """The documented normalisation under which emitted and lecture LaTeX are compared.

    Drops white space, ``\\left``/``\\right`` sizing, the braces around a single-token sub- or superscript,
    ``\\,``-style spacing, and spells ``...``/``\\ldots`` as ``\\dots`` and ``\\log`` as ``\\ln``.
    """
    text = text.replace(r"\,", "").replace(r"\;", "").replace(r"\!", "").replace(r"\qquad", "").replace(r"\quad", "")
    text = text.replace(r"\ldots", r"\dots").replace("...", r"\dots").replace(r"\log", r"\ln")
    text = _LEFT_RIGHT.sub("", text)
    text = re.sub(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])", "\\1\0", text)  # a command before a letter keeps a space
    text = re.sub(r"\s+", "", text).replace("\0", " ")
    return _SINGLE.sub(r"\1\2", text)
