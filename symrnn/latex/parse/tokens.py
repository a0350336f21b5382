"""The tokeniser: LaTeX text to tokens with positions, and the guard rails that apply before any grammar.

It is the first line of defence, so it refuses early: a length cap, a nesting cap, balanced brackets, ``\\left``/
``\\right`` and environments, known commands and environments only, and names in ``\\operatorname``/``\\mathrm``/
``\\text`` checked against plain words.  The deadline it checks is shared with the parser's loops.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import sympy as sp

from symrnn import notation as nt
from symrnn.latex.parse.errors import (
    RefusedName,
    Timeout,
    TooDeep,
    TooLarge,
    TooLong,
    Unbalanced,
    Unexpected,
    UnknownMacro,
)
from symrnn.ops import sigmoid

if TYPE_CHECKING:
    from symrnn.core.budget import Budget

#: Python refuses to turn an integer of more than 4,300 digits into text; a number read must stay printable.
PRINTABLE_DIGITS = 4_000


@dataclass(frozen=True)
class Limits:
    """Guard rails for one parse: input length, nesting, number sizes, the backend's in-process pieces, time."""

    max_chars: int = 20_000  #: characters of one input
    max_depth: int = 40  #: nesting of brackets and environments (the expression built: 6 times that)
    seconds: float = 1.0  #: wall clock for one parse, the backend's second readings included
    max_digits: int = 200  #: digits of one number literal (``Budget.max_digits``)
    max_result_digits: int = PRINTABLE_DIGITS  #: digits a power, product or sum of numbers may reach
    max_backend_chars: int = 40  #: longest piece the backend reads in-process; longer ones run in a bounded worker
    backend_memory_mb: int = 512  #: address space of that worker

    @classmethod
    def from_budget(cls, budget: Budget, **changes: Any) -> Limits:
        """Limits taken from a :class:`symrnn.core.budget.Budget` (nesting and digits), with ``changes`` over them.
        The result digits stay at most :data:`PRINTABLE_DIGITS`, since a larger number could not be printed."""
        base = cls(max_depth=budget.max_depth, max_digits=budget.max_digits,
                   max_result_digits=min(budget.max_result_digits, PRINTABLE_DIGITS))
        return replace(base, **changes)


DEFAULT_LIMITS = Limits()

# ---- the vocabulary ------------------------------------------------------------------------------------------------

GREEK = frozenset("""alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
    pi rho varrho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi
    Omega""".split())
FUNCTIONS = {"exp": sp.exp, "ln": sp.log, "log": sp.log, "tanh": sp.tanh, "sigma": sigmoid}
RELATIONS = {"=": "=", "approx": "approx", "leftarrow": "leftarrow", "neq": "neq", "ne": "neq", "<": "<",
             ">": ">", "leq": "leq", "le": "leq", "geq": "geq", "ge": "geq", "propto": "propto", "in": "in"}
TEXT_COMMANDS = frozenset({"text", "operatorname", "mathrm", "mathfrak", "mathbf", "mathit", "textrm", "boldsymbol",
                           "bm", "mathop", "mathbb"})
#: accents that make a name of their own (``\tilde{h}``, ``\overrightarrow{\mathbf{H}}``)
ACCENTS = frozenset({"hat", "bar", "tilde", "overrightarrow", "overleftarrow"})
#: bold-face commands; their argument may also be a Greek letter (``\boldsymbol{\delta}``) or 0 and 1
BOLD_COMMANDS = frozenset({"mathbf", "boldsymbol", "bm"})
#: commands that only change how a fraction is typeset: read as ``\frac``
_SAME_AS = {"dfrac": "frac", "tfrac": "frac"}
_SPACING = frozenset({",", ";", "!", " ", ":", "quad", "qquad", "displaystyle"})
#: spacing that may stand between two relations (``U = ... \\qquad W = ...``): the next token is marked ``spaced``
_SEPARATING = frozenset({",", ";", "!", " ", ":", "quad", "qquad"})
#: equation numbering and references, read and dropped: ``\\label{...}``, ``\\tag{...}``, ``\\nonumber``, ``\\notag``
_IGNORED = frozenset({"label", "tag", "nonumber", "notag"})
_KNOWN = frozenset({"frac", "vec", "sum", "prod", "max", "left", "right", "begin", "end", "dots", "ldots", "cdots",
                    "vdots", "ddots", "cdot", "times", "odot", "oslash", "circ", "partial", "infty", "exp", "ln",
                    "log", "tanh", "rightarrow", "top", "intercal", "ell", "nabla", "otimes", "Vert", "lVert", "rVert",
                    "Pr", "prime", "lbrace", "rbrace", "underbrace", "overbrace", *RELATIONS, *GREEK, *TEXT_COMMANDS,
                    *ACCENTS})
#: environments that lay out whole relations (rows, ``&`` alignment): read by :mod:`.relations`, not as a factor
LAYOUT_ENVIRONMENTS = frozenset({"equation", "equation*", "align", "align*", "aligned", "flalign", "flalign*",
                                 "gather", "gather*", "gathered", "split", "multline", "multline*", "eqnarray",
                                 "eqnarray*", "displaymath", "math"})
#: layouts whose even ``&`` (the second, fourth, ...) in a row starts another relation: ``a &= b & c &= d``
PAIRED_COLUMNS = frozenset({"align", "align*", "aligned", "flalign", "flalign*"})
_ENVIRONMENTS = frozenset({"bmatrix", "cases", "array", *LAYOUT_ENVIRONMENTS})
WORD = re.compile(r"^[A-Za-z]+$")
_TEXT = re.compile(r"^[A-Za-z0-9 .,;:'()+\-/=_\"]*$")  # nt.Words' characters, _ (written \_) and quotes
_COLUMNS = re.compile(r"^[lcr]{1,20}$")
_SYMBOLS = set("+-=<>,|()[]{}^_&'/*;.:")  # "." is read only as trailing punctuation, ":" only in := and =:
_OPEN = {"(": ")", "[": "]", "{": "}"}
_DIGITS = frozenset("0123456789")  # only ASCII: "²" and "٣" are digits to str.isdigit, unknown characters here
_NUMBER = re.compile(r"[0-9]*(?:\.[0-9]+)?", re.ASCII)
_ROW_SPACE = re.compile(r"\*?(?:\s*\[\s*-?[0-9]*\.?[0-9]+\s*(?:pt|em|ex|mm|cm|in|mu|bp|pc)\s*\])?", re.ASCII)
_LETTERS = {"t": nt.t, "q": nt.q, "i": nt.i, "j": nt.j, "k": nt.k, "T": nt.T, "N": nt.N, "V": nt.V}


_EMPTY_GROUP = re.compile(r"\{\s*\}")


def _after_relation(tok: Token) -> bool:
    return (tok.kind == "sym" and tok.value in "=<>") or (tok.kind == "cmd" and tok.value in RELATIONS)


def letter_symbol(name: str) -> sp.Symbol:
    """The symbol a letter names: the notation's own ``t``, ``i``, ``N`` (with their assumptions) or a plain one."""
    return _LETTERS.get(name, sp.Symbol(name))


def greek_symbol(name: str) -> sp.Symbol:
    """The symbol a Greek command names (``\\eta`` is the notation's learning rate)."""
    return nt.eta if name == "eta" else sp.Symbol(name)


# ---- tokens --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # num, letter, cmd, text, sym, rowsep, begin, end, eof
    value: str
    pos: int
    end: int
    arg: str = ""  # the braced argument of a text command or environment
    glued: bool = False  # no white space before this token
    spec: str = ""  # an array's column specification (``ll``)
    spaced: bool = False  # a spacing command (``\\quad``, ``\\,``, ``~``, ...) stands before this token


def deadline_check(deadline: float, pos: int, text: str) -> None:
    """Raise :class:`Timeout` once the parse's deadline (a ``time.perf_counter`` value) has passed."""
    if time.perf_counter() > deadline:
        raise Timeout("time limit reached", pos, text)


def tokenize(text: str, limits: Limits = DEFAULT_LIMITS, deadline: float | None = None) -> list[Token]:
    """Split LaTeX into tokens with positions, checking brackets, nesting, macros and names as it goes."""
    if not isinstance(text, str):
        raise TypeError(f"expected LaTeX text (str), got {type(text).__name__}")
    if len(text) > limits.max_chars:
        raise TooLong(f"input of {len(text)} characters exceeds the limit of {limits.max_chars}", limits.max_chars)
    deadline = time.perf_counter() + limits.seconds if deadline is None else deadline
    return _Tokeniser(text, limits, deadline).run()


class _Tokeniser:
    """One pass over one input: ``p`` is the position, ``stack`` the open brackets and environments."""

    def __init__(self, text: str, limits: Limits, deadline: float):
        self.text, self.limits, self.deadline = text, limits, deadline
        self.tokens: list[Token] = []
        self.stack: list[tuple[str, int]] = []
        self.n, self.p, self.glued = len(text), 0, False
        self.spaced = False  # a separating space was skipped since the last token

    def run(self) -> list[Token]:
        text = self.text
        while self.p < self.n:
            if len(self.tokens) % 64 == 0:
                deadline_check(self.deadline, self.p, text)
            c = text[self.p]
            if c.isspace() or c == "~":
                self.p, self.glued = self.p + 1, False
                self.spaced |= c == "~"
                continue
            start, count = self.p, len(self.tokens)
            if c == "\\":
                if not self.command(start):
                    self.glued = False
                    continue
            elif c in _DIGITS or (c == "." and text[self.p + 1:self.p + 2] in _DIGITS):
                self.number(start)
            elif c == "." and text.startswith("...", self.p):
                self.p += 3
                self.tokens.append(Token("cmd", "dots", start, self.p, glued=self.glued))
            elif c.isascii() and c.isalpha():
                self.p += 1
                self.tokens.append(Token("letter", c, start, self.p, glued=self.glued))
            elif c in _SYMBOLS:
                self.symbol(c, start)
            else:
                raise UnknownMacro(f"unexpected character {c!r}", self.p, text)
            if self.spaced and len(self.tokens) > count:
                self.tokens[count] = replace(self.tokens[count], spaced=True)
            self.glued, self.spaced = True, False
            self.check_depth(start)
        if self.stack:
            what, where = self.stack[-1]
            shown = {"left": "\\left", "(": "'('", "[": "'['", "{": "'{'"}.get(what, f"\\begin{{{what}}}")
            raise Unbalanced(f"{shown} is never closed", where, text)
        self.tokens.append(Token("eof", "", self.n, self.n))
        return self.tokens

    def check_depth(self, start: int) -> None:
        if len(self.stack) > self.limits.max_depth:
            raise TooDeep(f"nesting deeper than {self.limits.max_depth}", start, self.text)

    def number(self, start: int) -> None:
        """A number literal, refused when it has more than ``max_digits`` digits (before it is ever converted)."""
        limit = self.limits.max_digits
        lit = _NUMBER.match(self.text, self.p, min(self.n, self.p + limit + 2)).group(0)
        if sum(ch in _DIGITS for ch in lit) > limit:
            raise TooLarge(f"a number literal of more than {limit} digits", self.p, self.text)
        self.p += len(lit)
        self.tokens.append(Token("num", lit, start, self.p, glued=self.glued))

    def symbol(self, c: str, start: int) -> None:
        if c == "{" and self.tokens and _after_relation(self.tokens[-1]):
            close = _EMPTY_GROUP.match(self.text, start)
            if close:  # "={}": an empty group that only spaces the relation, dropped
                self.p = close.end()
                return
        self.p += 1
        if c in _OPEN:
            self.stack.append((c, start))
        elif c in (")", "]", "}"):
            want = {")": "(", "]": "[", "}": "{"}[c]
            if not self.stack or self.stack[-1][0] != want:
                raise Unbalanced(f"unmatched {c!r}", start, self.text)
            self.stack.pop()
        self.tokens.append(Token("sym", c, start, self.p, glued=self.glued))

    def command(self, start: int) -> bool:
        """A backslash: a row break, spacing (skipped: returns False), or a known command (returns True)."""
        text, p = self.text, self.p
        if p + 1 < self.n and text[p + 1] == "\\":
            self.tokens.append(Token("rowsep", "\\\\", p, p + 2, glued=self.glued))
            self.p = p + 2 + _ROW_SPACE.match(text[p + 2:p + 40]).end()  # \\[4pt], \\*: spacing, dropped
            return True
        m = re.match(r"[A-Za-z]+", text[p + 1:p + 40])
        if not m:
            ch = text[p + 1:p + 2]
            if ch == "|":  # \| is \Vert, a norm's bar
                self.tokens.append(Token("cmd", "Vert", p, p + 2, "", self.glued))
                self.p = p + 2
                return True
            if ch and ch in "{}":  # \{ ... \}: a set's braces, balanced as brackets are
                self.brace(ch, p)
                return True
            if ch in _SPACING:
                self.p = p + 2
                self.spaced |= ch in _SEPARATING
                return False
            raise UnknownMacro(f"unknown command \\{ch}", p, text)
        name = m.group(0)
        self.p = p + 1 + len(name)
        name = _SAME_AS.get(name, name)
        if name in _SPACING:
            self.spaced |= name in _SEPARATING
            return False
        if name in _IGNORED:
            self.ignored(name)
            return False
        if name == "mid":  # \mid is the bar of a conditional probability
            self.tokens.append(Token("sym", "|", start, self.p, "", self.glued))
            return True
        if name not in _KNOWN:
            raise UnknownMacro(f"unknown command \\{name}", start, text)
        if name in ACCENTS and re.match(r"\s*\{\s*\\", text[self.p:self.p + 40]):
            # \tilde{\mathbf{h}}, \hat{\sigma}: the accent alone, the grammar reads the braced name
            self.tokens.append(Token("cmd", name, start, self.p, "", self.glued))
        elif name in TEXT_COMMANDS or name in ACCENTS or name in ("begin", "end"):
            self.braced_command(name, start)
        elif name in ("left", "right"):
            self.delimiter(name, start)
        else:
            self.tokens.append(Token("cmd", name, start, self.p, "", self.glued))
        return True

    def brace(self, ch: str, p: int) -> None:
        """``\\{`` or ``\\}``: a set's braces (tokens ``lbrace``/``rbrace``), kept balanced."""
        if ch == "{":
            self.stack.append(("lbrace", p))
        elif not self.stack or self.stack[-1][0] != "lbrace":
            raise Unbalanced("\\} without its \\{", p, self.text)
        else:
            self.stack.pop()
        self.tokens.append(Token("cmd", "lbrace" if ch == "{" else "rbrace", p, p + 2, "", self.glued))
        self.p = p + 2

    def ignored(self, name: str) -> None:
        """``\\label{...}``, ``\\tag{...}``, ``\\tag*{...}``: skipped with their argument (no braces inside)."""
        if name in ("nonumber", "notag"):
            return
        text, q = self.text, self.p
        if name == "tag" and text.startswith("*", q):
            q += 1
        q, close = self.braced_argument(name, q)
        if "{" in text[q + 1:close]:
            raise Unexpected(f"\\{name}{{...}} may not hold braces", q + 1, text)
        self.p = close + 1

    def braced_argument(self, name: str, q: int) -> tuple[int, int]:
        """The positions of the ``{`` and ``}`` of the argument of ``\\name`` from ``q`` (spaces skipped)."""
        text = self.text
        while q < self.n and text[q] == " ":
            q += 1
        if q >= self.n or text[q] != "{":
            raise Unexpected(f"\\{name} needs a braced argument", q, text)
        close = text.find("}", q)
        if close < 0:
            raise Unbalanced(f"\\{name}{{ is never closed", q, text)
        return q, close

    def delimiter(self, name: str, start: int) -> None:
        """``\\left(`` or ``\\right)``: the delimiter is the token's ``arg``."""
        q = self.p
        while q < self.n and self.text[q] == " ":
            q += 1
        delim = self.text[q:q + 1]
        width = 1
        bar = re.match(r"\\(?:\||[lr]?Vert(?![A-Za-z]))", self.text[q:q + 8])
        if bar:  # \left\| ... \right\|: a norm's bars
            delim, width = "\\|", bar.end()
        elif delim not in ("(", ")", "[", "]", ".", "|"):
            raise Unexpected(f"\\{name} needs a delimiter", q, self.text)
        self.p = q + width
        if name == "left":
            self.stack.append(("left", start))
        else:
            if not self.stack or self.stack[-1][0] != "left":
                raise Unbalanced("\\right without its \\left", start, self.text)
            self.stack.pop()
        self.tokens.append(Token("cmd", name, start, self.p, delim, self.glued))

    def braced_command(self, name: str, start: int) -> None:
        """A text command, accent, ``\\begin`` or ``\\end`` with its braced argument, which is checked here."""
        text = self.text
        q, close = self.braced_argument(name, self.p)
        arg = text[q + 1:close]
        if name in ("text", "textrm"):
            arg = arg.replace("\\_", "_")  # \text{hidden\_size}: an escaped underscore
        greek = re.fullmatch(r"\s*\\([A-Za-z]+)\s*", arg) if name in BOLD_COMMANDS else None
        if greek and greek.group(1) in GREEK:  # \boldsymbol{\delta}: a bold Greek letter
            arg, spec = greek.group(1), "greek"
        elif "{" in arg or "\\" in arg:
            raise RefusedName(f"\\{name}{{...}} may hold only letters, digits and spaces", q + 1, text)
        else:
            spec = ""
        self.p = close + 1
        if name in ("begin", "end"):
            spec = self.environment_edge(name, arg, q, start)
        elif name in ("text", "textrm"):
            if not _TEXT.match(arg):
                raise RefusedName(f"\\text{{{arg}}}: only letters, digits, spaces and . , ; : ' ( ) + - / = _ \"",
                                  q + 1, text)
            name = "text"
        elif not (WORD.match(arg.strip()) or (name in BOLD_COMMANDS and arg.strip() in ("0", "1"))):
            raise RefusedName(f"\\{name}{{{arg}}}: a name must be letters only", q + 1, text)
        else:
            arg = arg.strip()
        kind = name if name in ("begin", "end") else "text"
        self.tokens.append(Token(kind, name, start, self.p, arg, self.glued, spec=spec))

    def environment_edge(self, name: str, env: str, q: int, start: int) -> str:
        """``\\begin{env}`` (with an array's column spec, returned) or ``\\end{env}``, kept balanced."""
        text, p = self.text, self.p
        spec = ""
        if env not in _ENVIRONMENTS:
            raise UnknownMacro(f"unknown environment {env!r}", q + 1, text)
        if name == "begin" and env == "array":
            close = text.find("}", p) if text.startswith("{", p) else -1
            spec = text[p + 1:close] if close > 0 else ""
            if not _COLUMNS.match(spec):
                raise Unexpected("\\begin{array} needs its columns, such as {ll}", p, text)
            self.p = close + 1
        if name == "begin":
            self.stack.append((env, start))
        else:
            if not self.stack or self.stack[-1][0] != env:
                raise Unbalanced(f"\\end{{{env}}} without its \\begin", start, text)
            self.stack.pop()
        return spec
