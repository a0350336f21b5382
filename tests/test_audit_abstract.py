"""``symrnn audit`` on chain-rule claims about abstract functions (:mod:`symrnn.audit.abstract_chain`).

The planted errors are the lines where each ``_planted`` twin differs from its clean twin (read from the files, not
from the audit); the checker's verdicts are validated against finite differences with concrete functions
(tanh, sin, a square) put in for ``f``, ``g`` and ``l`` (mpmath, independent of SymPy and of symrnn).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import mpmath as mp
import pytest

from symrnn import audit

DATA = Path(__file__).parent / "data" / "audit_abstract"
CORPUS = Path(__file__).parent / "data" / "corpus"
TWINS = ["scalar_sub", "vector_frac"]
CHECK = "chain rule"
_CLAIM = re.compile(r"^\$\$\\(partial|frac\{\\partial)")


def _audit(text: str) -> list:
    return audit.audit_text(text)


def _differing_lines(name: str) -> set[int]:
    clean = (DATA / f"{name}.md").read_text(encoding="utf-8").splitlines()
    planted = (DATA / f"{name}_planted.md").read_text(encoding="utf-8").splitlines()
    assert len(clean) == len(planted)
    return {n for n, (a, b) in enumerate(zip(clean, planted, strict=True), start=1) if a != b}


@pytest.mark.parametrize("name", TWINS)
def test_a_clean_twin_has_no_error_and_every_claim_checked(name):
    text = (DATA / f"{name}.md").read_text(encoding="utf-8")
    findings = _audit(text)
    assert [f for f in findings if f.level == "error"] == []
    claims = {n for n, line in enumerate(text.splitlines(), start=1) if _CLAIM.match(line)}
    assert claims and claims == {f.line for f in findings if f.check == CHECK and f.level == "ok"}


@pytest.mark.parametrize("name", TWINS)
def test_every_planted_error_is_found_at_its_line(name):
    planted = _differing_lines(name)
    findings = _audit((DATA / f"{name}_planted.md").read_text(encoding="utf-8"))
    assert {f.line for f in findings if f.level == "error"} == planted
    assert all(f.check == CHECK for f in findings if f.level == "error")
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{name}_planted.md` | {line} |" in sources for line in planted)


@pytest.mark.parametrize("name", TWINS)
def test_a_suggestion_put_in_place_of_the_error_checks(name):
    path = DATA / f"{name}_planted.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    errors = [f for f in _audit("\n".join(lines)) if f.level == "error"]
    fixed = [f for f in errors if f.suggestion]
    assert len(fixed) >= len(errors) - 1  # the error recursion dL/dh_t has no suggested form
    for f in fixed:
        lines[f.line - 1] = f"$${f.suggestion}$$"
    after = _audit("\n".join(lines))
    assert not {f.line for f in after if f.level == "error"} & {f.line for f in fixed}
    assert {f.line for f in fixed} <= {f.line for f in after if f.check == CHECK and f.level == "ok"}


def test_the_d2l_chapter_errors_are_found_with_corrections():
    findings = _audit((CORPUS / "d2l-bptt.md").read_text(encoding="utf-8"))
    chain = {f.line: f for f in findings if f.check == CHECK}
    assert {n: f.level for n, f in chain.items()} == {46: "ok", 47: "error", 53: "ok", 54: "error"}
    assert r"\partial_{w} g(h_{t}, w) + \partial_{h_{t}} g(h_{t}, w) \partial_{w} h_{t}" in chain[47].suggestion
    assert r"\prod_{j=i+1}^{t}" in chain[54].suggestion


# -- the verdicts against finite differences with concrete functions ------------------------------------------------
mp.mp.dps = 30
X, Y, H0, W0, T = [mp.mpf("0.3"), mp.mpf("-0.7"), mp.mpf("0.5"), mp.mpf("0.1")], \
    [mp.mpf("0.2"), mp.mpf("0.4"), mp.mpf("-0.1"), mp.mpf("0.6")], mp.mpf("0.25"), mp.mpf("0.8"), 3


def f(x, h, w):
    return mp.tanh(w * h + x / 2 + w / 3)


def g(h, w):
    return mp.sin(w * h) + w * w / 5


def loss(y, o):
    return (o - y) ** 2


def states(w):
    hs = [H0]
    for k in range(T):
        hs.append(f(X[k], hs[-1], w))
    return hs


def total_loss(w):
    hs = states(w)
    return sum(loss(Y[k - 1], g(hs[k], w)) for k in range(1, T + 1))


def partials(k, w=W0):
    """At step k: dh_k/dw (total), f_h, f_w at (x_k, h_{k-1}, w), g_h, g_w at (h_k, w), l_o at (y_k, o_k)."""
    hs = states(w)
    h, prev, x = hs[k], hs[k - 1], X[k - 1]
    return {"dh": mp.diff(lambda v: states(v)[k], w), "fh": mp.diff(lambda v: f(x, v, w), prev),
            "fw": mp.diff(lambda v: f(x, prev, v), w), "gh": mp.diff(lambda v: g(v, w), h),
            "gw": mp.diff(lambda v: g(h, v), w), "lo": mp.diff(lambda v: loss(Y[k - 1], v), g(h, w))}


def _close(a, b) -> bool:
    return abs(a - b) < mp.mpf(10) ** -15


def test_the_d2l_verdicts_agree_with_finite_differences():
    p = {k: partials(k) for k in range(1, T + 1)}
    true = mp.diff(total_loss, W0)
    as_published = sum(p[k]["lo"] * p[k]["gw"] * p[k]["dh"] for k in p)  # line 47
    suggested = sum(p[k]["lo"] * (p[k]["gw"] + p[k]["gh"] * p[k]["dh"]) for k in p)
    assert not _close(as_published, true) and _close(suggested, true)
    for t in range(1, T + 1):
        previous = p[t - 1]["dh"] if t > 1 else 0  # line 53: the recursion holds
        assert _close(p[t]["dh"], p[t]["fw"] + p[t]["fh"] * previous)
        published = sum(mp.fprod(p[j]["fh"] for j in range(i, t + 1)) * p[i]["fw"] for i in range(1, t + 1))
        fixed = sum(mp.fprod(p[j]["fh"] for j in range(i + 1, t + 1)) * p[i]["fw"] for i in range(1, t + 1))
        assert _close(fixed, p[t]["dh"]) and not _close(published, p[t]["dh"])  # line 54 and its correction


def test_a_wrong_order_of_jacobians_is_wrong_by_finite_differences():
    """vector_frac_planted.md line 24: dh_{t-1}/dw df/dh instead of df/dh dh_{t-1}/dw, with 2-vectors."""
    def step(x, h, w):
        return mp.matrix([mp.tanh(w[0] * h[0] + w[1] * h[1] + x), mp.tanh(w[1] * h[0] * h[1] - w[0] + 2 * x)])

    def jac(fn, at):
        cols = []
        for b in range(2):
            cols.append([mp.diff(lambda v, a=a, b=b: fn(_put(at, b, v))[a], at[b]) for a in range(2)])
        return mp.matrix([[cols[b][a] for b in range(2)] for a in range(2)])

    w, x1, x2, h0 = mp.matrix([0.7, -0.4]), mp.mpf("0.3"), mp.mpf("-0.5"), mp.matrix([0.2, 0.9])
    h1 = step(x1, h0, w)
    dh1 = jac(lambda v: step(x1, h0, v), w)
    dh2 = jac(lambda v: step(x2, step(x1, h0, v), v), w)
    fw, fh = jac(lambda v: step(x2, h1, v), w), jac(lambda v: step(x2, v, w), h1)
    assert mp.mnorm(dh2 - (fw + fh * dh1), 1) < 1e-15
    assert mp.mnorm(dh2 - (fw + dh1 * fh), 1) > 1e-3


def _put(m, n, v):
    out = m.copy()
    out[n] = v
    return out


# -- what is not checked is never an error -------------------------------------------------------------------------
MODEL = "$$h_t = f(x_t, h_{t-1}, w)$$\n\n$$o_t = g(h_t, w)$$\n\n$$L = \\sum_{t=1}^T l(y_t, o_t)$$\n\n"


@pytest.mark.parametrize("claim, level", [
    (r"\partial_w h_t = \xi_t \partial_w f(x_t, h_{t-1}, w)", "warning"),  # a name the model does not define
    (r"\partial_w h_t \approx \partial_w f(x_t, h_{t-1}, w)", "warning"),  # truncated: an approximation
    (r"\partial_w h_t = \partial_w f(x_t, h_{t-1}, w) + \partial_h f(x_t, h_{t-1}, w) \partial_w h_{t-1}", "ok"),
    (r"\frac{\partial L}{\partial h_T} = \frac{\partial l(y_T, o_T)}{\partial o_T} "
     r"\frac{\partial g(h_T, w)}{\partial h_T}", "ok"),
])
def test_a_claim_symrnn_cannot_value_is_a_warning(claim, level):
    found = [f for f in _audit(MODEL + f"$${claim}$$\n") if f.check == CHECK]
    assert [f.level for f in found] == [level]
    assert found[0].line == 7


def test_no_abstract_model_no_chain_rule_findings():
    text = (DATA.parent / "audit_cells" / "elman_plain.md").read_text(encoding="utf-8")
    assert not [f for f in _audit(text) if f.check == CHECK]
    assert not [f for f in _audit("$$z_t = \\partial_w f(x_t, h_{t-1}, w)$$\n") if f.check == CHECK]


def test_the_audit_of_each_document_is_fast():
    for name in TWINS:
        start = time.perf_counter()
        _audit((DATA / f"{name}_planted.md").read_text(encoding="utf-8"))
        assert time.perf_counter() - start < 20
