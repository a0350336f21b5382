"""Proving that a difference of exp/tanh/sigmoid/log expressions is identically zero, fast.

Two ideas.  First, every transcendental atom becomes a fresh symbol, innermost first, keeping the relations the
derivatives need (``exp(2z - 2) = (e^{-1} A_z)^2``, ``exp(-z) = 1/A_z``, ``tanh(-z) = -tanh(z)``,
``sigma(-z) = 1 - sigma(z)``); if the result is 0 as a rational function of those symbols, the original is 0
(substituting the atoms back preserves every identity).  Second, that rational function is decided with sparse
polynomials over QQ, carrying denominators as products of factor powers and bringing sums to a common (not least)
denominator: no gcd is ever taken, which is where SymPy's ``together``/``cancel`` and its fraction field spend
their time (one softmax BPTT step at N=8: minutes there, a fraction of a second here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.polys.rings import PolyRing

from symrnn.ops import sigmoid

TRANSCENDENTAL = (sp.exp, sp.tanh, sp.log, sigmoid)

#: Largest polynomial (terms) the test builds, and largest product it attempts (terms of the factors multiplied):
#: past these the identity is left unproved rather than the machine's memory exhausted (FLINT aborts the process
#: when an allocation fails). The GRU's whole gradient at N=2, T=3 reaches 3 million terms (about 1 GB).
MAX_TERMS = 8_000_000
MAX_PRODUCT = 500_000_000


class TooLarge(Exception):
    """The expanded polynomials would exceed the size limits."""


class _SymPyPolys:
    """Sparse polynomials over QQ from SymPy (always available)."""

    def __init__(self, gens: Sequence[sp.Symbol]):
        self.ring = PolyRing(list(gens), sp.QQ)
        self.gens, self.one = self.ring.gens, self.ring.one

    def constant(self, q: sp.Rational):
        return self.ring.ground_new(self.ring.domain.from_sympy(q))

    @staticmethod
    def monic(p) -> tuple[object, object, object]:
        """``p = c * m`` with m monic: (c, m, a hashable key for m)."""
        m = p.monic()
        return p.LC, m, m


class _FlintPolys:
    """Sparse polynomials over QQ from python-flint (FLINT's C multiplication: 100x and more on large products)."""

    def __init__(self, gens: Sequence[sp.Symbol]):
        import flint

        self.flint = flint
        self.ctx = flint.fmpq_mpoly_ctx.get(tuple(f"g{i}" for i in range(len(gens))), "lex")
        self.gens, self.one = self.ctx.gens(), self.ctx.constant(1)

    def constant(self, q: sp.Rational):
        return self.ctx.constant(self.flint.fmpq(int(q.p), int(q.q)))

    @staticmethod
    def monic(p) -> tuple[object, object, object]:
        c = p.leading_coefficient()
        m = p / c
        return c, m, str(m)


def _polynomials(gens: Sequence[sp.Symbol]):
    try:
        return _FlintPolys(gens)
    except ImportError:
        return _SymPyPolys(gens)


@dataclass(frozen=True)
class _Fraction:
    """``num / prod(factor[k] ** e for k, e in den)``, each factor a monic polynomial named by its key."""

    num: object
    den: tuple[tuple[object, int], ...]


class _Arithmetic:
    """Fractions over one polynomial ring, with common denominators by factor-wise maxima (no gcd)."""

    def __init__(self, gens: Sequence[sp.Symbol]):
        self.polys = _polynomials(gens)
        self.index = {g: i for i, g in enumerate(gens)}
        self.factors: dict[object, object] = {}
        self.cache: dict[sp.Expr, _Fraction] = {}

    @staticmethod
    def _den(d: dict) -> tuple:
        return tuple(sorted(d.items(), key=lambda kv: str(kv[0])))

    @staticmethod
    def times(a, b):
        if len(a) * len(b) > MAX_PRODUCT:
            raise TooLarge(f"a product of {len(a)} by {len(b)} terms")
        out = a * b
        if len(out) > MAX_TERMS:
            raise TooLarge(f"a polynomial of {len(out)} terms")
        return out

    @staticmethod
    def pow(p, k: int):
        if len(p) ** k > MAX_PRODUCT:
            raise TooLarge(f"the {k}th power of {len(p)} terms")
        out = p**k

        if len(out) > MAX_TERMS:
            raise TooLarge(f"a polynomial of {len(out)} terms")
        return out

    def _cofactor(self, full: dict, part: dict):
        out = self.polys.one
        for k, e in full.items():
            if e > part.get(k, 0):
                out = self.times(out, self.pow(self.factors[k], e - part.get(k, 0)))
        return out

    def add(self, x: _Fraction, y: _Fraction) -> _Fraction:
        if x.den == y.den:
            return _Fraction(x.num + y.num, x.den)
        dx, dy = dict(x.den), dict(y.den)
        common = {**dx, **{k: max(e, dx.get(k, 0)) for k, e in dy.items()}}
        num = self.times(x.num, self._cofactor(common, dx)) + self.times(y.num, self._cofactor(common, dy))
        return _Fraction(num, self._den(common))

    def mul(self, x: _Fraction, y: _Fraction) -> _Fraction:
        den = dict(x.den)
        for k, e in y.den:
            den[k] = den.get(k, 0) + e
        return _Fraction(self.times(x.num, y.num), self._den(den))

    def power(self, x: _Fraction, k: int) -> _Fraction:
        if k < 0:
            if x.num == 0:
                raise ZeroDivisionError("a power of zero with a negative exponent")
            num = self._cofactor(dict(x.den), {})
            c, m, key = self.polys.monic(x.num)
            if m == self.polys.one:
                x = _Fraction(num / c, ())
            else:
                self.factors.setdefault(key, m)
                x = _Fraction(num / c, ((key, 1),))
            k = -k
        return _Fraction(self.pow(x.num, k), tuple((f, e * k) for f, e in x.den))

    def convert(self, expr: sp.Expr) -> _Fraction:
        if expr in self.cache:
            return self.cache[expr]
        if expr.is_Rational:
            out = _Fraction(self.polys.constant(expr), ())
        elif expr.is_Symbol:
            out = _Fraction(self.polys.gens[self.index[expr]], ())
        elif expr.is_Add or expr.is_Mul:
            combine = self.add if expr.is_Add else self.mul
            parts = [self.convert(a) for a in expr.args]
            out = parts[0]
            for p in parts[1:]:
                out = combine(out, p)
        elif expr.is_Pow and expr.exp.is_Integer:
            out = self.power(self.convert(expr.base), int(expr.exp))
        else:
            raise ValueError(f"not a rational function: {type(expr).__name__}")
        self.cache[expr] = out
        return out


def symbols_of(exprs: Iterable[sp.Expr]) -> set[sp.Symbol]:
    """The free symbols, visiting each distinct subexpression once (``free_symbols`` walks the tree)."""
    seen: set = set()
    out: set = set()
    stack = list(exprs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Function)):
            stack.extend(node.args)
        else:  # symbols, numbers, and anything that binds variables (Sum, Lambda) answer for themselves
            out |= node.free_symbols
    return out


def rational_zero(exprs: Sequence[sp.Expr]) -> bool:
    """Whether every expression, a rational function of its symbols over QQ, is identically 0."""
    gens = sorted(symbols_of(exprs), key=sp.default_sort_key)
    arithmetic = _Arithmetic(gens)
    return all(arithmetic.convert(e).num == 0 for e in exprs)


def _atoms_and_nesting(exprs: Iterable[sp.Expr]) -> dict[sp.Expr, int]:
    """Every transcendental atom with its nesting depth, visiting each distinct subexpression once.

    ``Basic.atoms`` walks the expression as a tree; unrolled recurrences share subexpressions so heavily that the
    tree is orders of magnitude larger than the graph (softmax, N=3, T=3: 5 * 10^8 nodes against 10^4).
    """
    depth: dict[sp.Expr, int] = {}
    stack = [(e, False) for e in exprs]
    while stack:
        node, done = stack.pop()
        if node in depth:
            continue
        if not done:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in depth)
            continue
        inner = max((depth[a] for a in node.args), default=0)
        depth[node] = inner + isinstance(node, TRANSCENDENTAL)
    return {node: d for node, d in depth.items() if isinstance(node, TRANSCENDENTAL)}


def _exp_terms(arg: sp.Expr, canonical: bool) -> tuple[sp.Rational, list[tuple[sp.Rational, sp.Expr]]]:
    """``arg = c + sum(m * z)``: the rational constant c and each rational multiple m of a sign-normalised z."""
    polynomial = arg.is_polynomial()
    constant, rest = (sp.expand(arg) if polynomial else arg).as_coeff_Add()
    if canonical and not polynomial:
        rest = sp.cancel(sp.together(rest))
    terms = []
    for term in sp.Add.make_args(rest) if canonical and polynomial else (rest,):
        if term != 0:
            multiple, base = term.as_content_primitive()
            terms.append((-multiple, -base) if base.could_extract_minus_sign() else (multiple, base))
    return constant, terms


def atom_symbols(atoms: dict[sp.Expr, int], canonical: bool) -> dict:
    """Each transcendental atom (with its nesting depth) as a rational function of fresh symbols, innermost first.

    An atom's argument is taken with the atoms inside it already replaced. ``exp(c + m z)`` becomes
    ``e^c B_z^(m/g)``, where g is the gcd of every multiple of z at that depth (SymPy writes ``exp(z)^2`` as
    ``exp(2 z)``, and ``exp(-z)`` is ``1/exp(z)``); with ``canonical`` a polynomial argument is split over every term
    and other arguments are brought to SymPy's canonical rational form (slower; finds relations between arguments
    written differently).
    """
    table: dict = {}
    mapping: dict = {}

    def symbol(key) -> sp.Dummy:
        return table.setdefault(key, sp.Dummy("A"))

    levels: dict[int, list] = {}
    for atom, level in atoms.items():
        levels.setdefault(level, []).append(atom)
    for level in sorted(levels):
        exps = {}
        for atom in sorted(levels[level], key=sp.default_sort_key):
            arg = atom.args[0].xreplace(mapping)
            name = type(atom).__name__
            if isinstance(atom, sp.exp):
                exps[atom] = _exp_terms(arg, canonical)
                continue
            key = sp.expand(arg) if arg.is_polynomial() else sp.cancel(sp.together(arg)) if canonical else arg
            if (name, -key) in table and name in ("tanh", "sigmoid"):
                mapping[atom] = -table[(name, -key)] if name == "tanh" else 1 - table[(name, -key)]
            else:
                mapping[atom] = symbol((name, key))
        unit: dict[sp.Expr, sp.Rational] = {}
        for _, terms in exps.values():
            for multiple, base in terms:
                unit[base] = sp.gcd(unit.get(base, multiple), multiple)
        for atom, (constant, terms) in exps.items():
            value = symbol(("exp", 1 / sp.Integer(constant.q))) ** constant.p if constant else sp.Integer(1)
            for multiple, base in terms:
                value *= symbol(("exp", base, unit[base])) ** (multiple / unit[base])
            mapping[atom] = value
    mapping[sp.E] = symbol(("exp", sp.Integer(1)))  # exp(1) evaluates to E
    return mapping


def substitute(exprs: Sequence[sp.Expr], mapping: dict, rebuild=None) -> list[sp.Expr]:
    """``[e.xreplace(mapping) for e in exprs]``, visiting each distinct subexpression once.

    ``xreplace`` walks the expression as a tree, so a subexpression shared by many others is rebuilt every time it is
    met; here each node is rebuilt once (with ``node.func(*args)``, as ``xreplace`` does, or ``rebuild(node, args)``
    when given), so the result is the same.
    """
    done: dict = {}
    stack = [(e, False) for e in exprs]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if node in mapping:
            done[node] = mapping[node]
        elif type(node)._xreplace is not sp.Basic._xreplace:  # a class with its own rule: let it apply it
            done[node] = node.xreplace(mapping)
        elif not node.args:
            done[node] = node
        elif not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)
        else:
            args = [done[a] for a in node.args]
            if not any(new is not old for new, old in zip(args, node.args)):
                done[node] = node
            else:
                done[node] = rebuild(node, args) if rebuild else node.func(*args)
    return [done[e] for e in exprs]


def atoms_zero(diffs: sp.Expr | Sequence[sp.Expr]) -> bool:
    """A sufficient zero test for expressions built from exp/tanh/sigmoid/log of rational functions.

    ``True`` proves every difference identically 0; ``False`` proves nothing (the caller falls back to exact spot
    checks).
    """
    diffs = [diffs] if isinstance(diffs, sp.Expr) else list(diffs)
    atoms = _atoms_and_nesting(diffs)
    for canonical in (False, True) if atoms else (True,):
        mapping = atom_symbols(atoms, canonical)
        try:
            if rational_zero(substitute(diffs, mapping)):
                return True
        except (ValueError, ZeroDivisionError, sp.PolynomialError, TooLarge):  # no proof here
            return False
    return False


