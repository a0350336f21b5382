"""Hostile and broken LaTeX: each refused quickly with a named error, nothing executed, the process unharmed."""

from __future__ import annotations

import builtins
import contextlib
import pathlib
import time

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symrnn.latex.parse as parse_mod
import symrnn.numeric.guard as guard_mod
from symrnn import notation as nt
from symrnn.latex.parse import (
    EmptyInput,
    Limits,
    ParseError,
    RefusedName,
    ShapeMismatch,
    Sizes,
    Timeout,
    TooDeep,
    TooLong,
    Unbalanced,
    Unexpected,
    UnknownMacro,
    available_backends,
    parse,
)

HOSTILE = [
    # injection attempts: names must be plain words, text plain text
    (r"\operatorname{__import__('os').system('ls')}(x)", RefusedName),
    (r"\mathrm{eval(1)}", RefusedName),
    (r"\operatorname{os.system}(x)", RefusedName),
    (r"\text{'); import os; ('}", RefusedName),
    (r"\mathrm{\input{/etc/passwd}}", RefusedName),
    (r"\input{/etc/passwd}", UnknownMacro),
    (r"\immediate\write18{rm -rf /}", UnknownMacro),
    (r"\def\x{y} \x", UnknownMacro),
    (r"\begin{verbatim} x \end{verbatim}", UnknownMacro),
    ("x $ y", UnknownMacro),
    ("x \u2212 y", UnknownMacro),
    ("\\", UnknownMacro),
    # deep nesting and long input
    ("(" * 10_000 + "x" + ")" * 10_000, TooDeep),
    ("{" * 10_000 + "x" + "}" * 10_000, TooDeep),
    (r"\left(" * 10_000 + "x" + r"\right)" * 10_000, TooDeep),
    (r"\frac{" * 10_000 + "1}{2}" * 10_000, TooDeep),
    ("x + " * 25_000 + "x", TooLong),
    ("1" * 100_000, TooLong),
    # unbalanced
    ("(x + y", Unbalanced),
    ("x + y)", Unbalanced),
    (r"\left( x", Unbalanced),
    (r"x \right)", Unbalanced),
    (r"\begin{bmatrix} 1", Unbalanced),
    (r"\end{cases}", Unbalanced),
    ("{x", Unbalanced),
    # broken or empty
    ("", EmptyInput),
    ("   ", EmptyInput),
    (r"t 1 \neq", Unexpected),
    ("x +", Unexpected),
    ("= x", Unexpected),
    (r"\frac{1}{}", Unexpected),
    (r"P(Y_t = j |", Unbalanced),
    (r"\sum^T x", Unexpected),
    # tables, entrywise operators and powers (the bptt and lstm sections' notation)
    (r"\begin{array}{l;x} a \end{array}", Unexpected),
    (r"\begin{array} a \end{array}", Unexpected),
    (r"\begin{array}{l} \text{\input{x}} \end{array}", RefusedName),
    (r"\begin{array}{l} \text{a} \\ b", Unbalanced),
    (r"\begin{array}{" + "l" * 50 + r"} a \end{array}", Unexpected),
    (r"\text{$(rm -rf /)} x", RefusedName),
    (r"U^{(\vec{h}_t)}", ShapeMismatch),
    (r"U^{\circ {\vec{h}_t}}", ShapeMismatch),
    (r"\vec{h}_t \oslash", Unexpected),
    (r"U^{\circ", Unbalanced),
]


@contextlib.contextmanager
def nothing_executes():
    """Make eval, exec, compile, sympify and parse_expr explode if anything calls them inside the block."""
    def boom(*_a, **_k):
        raise AssertionError("user text reached an evaluator")

    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    saved_sympify, saved_parse_expr = sympy.sympify, sympy.parsing.sympy_parser.parse_expr
    try:
        for name in saved:
            setattr(builtins, name, boom)
        sympy.sympify = boom
        sympy.parsing.sympy_parser.parse_expr = boom
        yield
    finally:
        for name, fn in saved.items():
            setattr(builtins, name, fn)
        sympy.sympify, sympy.parsing.sympy_parser.parse_expr = saved_sympify, saved_parse_expr


@pytest.mark.parametrize(("text", "error"), HOSTILE, ids=[repr(h[0][:30]) for h in HOSTILE])
def test_hostile_input_is_refused_quickly_with_a_named_error(text, error):
    # a generous length limit, so that the nesting guard (not the length guard) meets the deep inputs
    limits = Limits() if error is TooLong else Limits(max_chars=200_000)
    start = time.perf_counter()
    with pytest.raises(error) as exc, nothing_executes():
        parse(text, backend="none", limits=limits)
    assert time.perf_counter() - start < 1.0
    assert isinstance(exc.value, ParseError) and f"at position {exc.value.pos}" in str(exc.value)
    assert 0 <= exc.value.pos <= len(text)


@pytest.mark.parametrize("backend", available_backends())
def test_hostile_input_never_reaches_a_backend(backend):
    for text, error in HOSTILE[:12]:
        with pytest.raises(error), nothing_executes():
            parse(text, backend=backend)


def test_the_process_is_unharmed_after_hostile_input():
    for text, error in HOSTILE:
        with pytest.raises((error, TooLong)):
            parse(text, backend="none")
    assert parse(r"\vec{h}_{t-1}", backend="none").base == "h"
    assert not hasattr(builtins, "ls")


def test_the_time_limit_is_enforced_inside_the_parser():
    long_but_legal = " + ".join(rf"P(Y_{{{n}}} = j | Y_{{{n + 1}}} = i)" for n in range(300))
    with pytest.raises(Timeout, match="time limit"):
        parse(long_but_legal, backend="none", limits=Limits(seconds=0.0))
    assert parse(long_but_legal, backend="none") is not None


def test_the_error_names_the_position_of_the_problem():
    with pytest.raises(Unbalanced) as exc:
        parse(r"a + \left( b + c", backend="none")
    assert exc.value.pos == 4
    with pytest.raises(UnknownMacro) as exc:
        parse(r"a + \foo{b}", backend="none")
    assert exc.value.pos == 4 and r"\foo" in exc.value.reason


def test_non_text_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse(b"x", backend="none")  # type: ignore[arg-type]


GATES = Sizes(gates={"f": nt.N, "i": nt.N, "o": nt.N})
FRAGMENTS = ["x", "y_t", r"\vec{h}_t", "U", "1", "0.5", "+", "-", "=", "(", ")", "{", "}", "_", "^", ",", "|",
             r"\frac", r"\sum_i", r"\left(", r"\right)", r"\exp", r"\ln", "P(", r"\begin{bmatrix}", r"\end{bmatrix}",
             r"\\", "&", r"\approx", r"\dots", r"\operatorname{f}", r"\text{w}", r"\sigma", "g(", " ",
             r"\odot", r"\oslash", r"^{\circ 2}", "^{(t)}", "f_t", r"\begin{array}{ll}", r"\end{array}",
             r"\text{a (b)}", r"\frac{d\mathfrak{L}}{d", r"\sum_{\tau=1}^{t}"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_any_token_soup_parses_or_raises_a_parse_error(parts):
    text = "".join(parts)
    start = time.perf_counter()
    for notation in (None, GATES):  # f_t a number, then a gate
        try:
            parse(text, backend="none", **({"notation": notation} if notation else {}))
        except ParseError:
            pass
    assert time.perf_counter() - start < 2.0


def test_a_table_s_words_are_inert_text():
    """A table cell's \\text{...} may hold punctuation (symrnn prints "PyTorch (nn.LSTM)"): it is kept as words,
    never read as a name or handed to anything that evaluates."""
    with nothing_executes():
        table = parse(r"\begin{array}{l} \text{'); import os; ('} \end{array}", backend="none")
    assert table.header[0].text == "'); import os; ('" and not hasattr(builtins, "os")


def test_parse_module_never_names_an_evaluator():
    package = pathlib.Path(parse_mod.__file__).parent
    files = [*sorted(package.glob("*.py")), pathlib.Path(guard_mod.__file__)]
    assert len(files) > 2
    source = "\n".join(f.read_text(encoding="utf-8") for f in files)
    code = [line.split("#")[0] for line in source.splitlines() if not line.strip().startswith(("#", '"', "``"))]
    body = "\n".join(code)
    for banned in ("eval(", "exec(", "parse_expr(", "sympify("):
        assert banned not in body.replace("_sympify(", "").replace(".evalf(", ""), banned
