"""``symrnn audit`` on closed forms, abstract per-step losses and declared sizes: every planted error of
tests/data/audit_closed (SOURCES.md) found at its line, the clean twins free of errors, D2L's BPTT chapter checked
(not only read), and the checker's verdicts against an independent computation (torch autograd of the same linear
RNN with a concrete loss)."""

from __future__ import annotations

import re
from pathlib import Path

import mpmath
import numpy as np
import pytest
from test_audit_cells import assert_planted, audited, cell_model_of, planted_in

from symrnn import audit
from symrnn.audit.bptt_claims import compare
from symrnn.audit.cell_model import parse_claim
from symrnn.audit.declarations import SizeConflict, shape_of
from symrnn.audit.unrolled import Instance
from symrnn.latex.parse import DEFAULT_LIMITS

torch = pytest.importorskip("torch")

DATA = Path(__file__).parent / "data" / "audit_closed"
D2L = Path(__file__).parent / "data" / "corpus" / "d2l-bptt.md"
TWINS = ["linear_bold", "linear_plain", "tanh_jacobians"]


def planted() -> list[tuple[str, int, str]]:
    return planted_in(DATA)


findings, model = audited, cell_model_of


def test_the_corpus_plants_each_kind_in_three_notations():
    assert_planted(DATA, TWINS, 6, ("wrong power exponent", "missing transpose", "lost 1/T", "wrong index shift",
                                    "missing sum", "size mismatch against a declaration"))


@pytest.mark.parametrize("twin", TWINS)
def test_a_clean_twin_gets_no_error_and_its_closed_forms_are_checked(twin):
    found = findings(DATA / f"{twin}.md")
    assert [f for f in found if f.level in ("error", "unread")] == []
    closed = [f for f in found if f.check == "bptt" and f.level == "ok" and "T=3 and 4" in f.message]
    assert len(closed) >= 2, [f.message for f in found if f.check == "bptt"]


@pytest.mark.parametrize("row", planted(), ids=lambda r: f"{r[0]}:{r[1]}")
def test_every_planted_error_is_found_at_its_line(row):
    name, line, kind = row
    errors = [f for f in findings(DATA / name) if f.line == line and f.level == "error"]
    assert len(errors) == 1, (kind, [f for f in findings(DATA / name) if f.line == line])
    if "size mismatch" in kind:
        assert re.search(r"\b\w+ x \w+\b.*\b\w+ x \w+\b", errors[0].message), errors[0].message  # both shapes
    suggestion = errors[0].suggestion
    if "=" in (suggestion or "") and "Jacobian" not in kind:  # read back, it holds on the cell
        m = model(DATA / name)
        assert compare(m, parse_claim(m, suggestion, DEFAULT_LIMITS))[0] == "ok", suggestion


def test_the_planted_documents_have_no_other_error():
    for twin in TWINS:
        lines = {line for f, line, _ in planted() if f == f"{twin}_planted.md"}
        assert {f.line for f in findings(DATA / f"{twin}_planted.md") if f.level == "error"} == lines


def test_a_wrong_closed_form_gets_the_closed_form_as_its_correction():
    [f] = [f for f in findings(DATA / "linear_plain_planted.md") if f.line == 29 and f.level == "error"]
    assert f.suggestion.startswith(r"\frac{\partial E}{\partial h_t} = \sum_{k=t}^{T}")
    assert "^{k - t}" in f.suggestion and "T = 3" in f.message


def test_d2l_claims_are_checked_not_only_read():
    found = [f for f in findings(D2L) if f.line >= 90]
    assert [f for f in found if f.level in ("error", "unread")] == []
    checked = {f.line for f in found if f.check == "bptt" and f.level == "ok" and "holds" in f.message}
    assert {121, 125, 135, 146, 155, 164} <= checked  # dL/do_t (1/T), dL/dW_qh, dL/dh_T, recursion, closed form
    [closed] = [f for f in found if f.line == 155 and f.check == "bptt"]
    assert "T=3 and 4" in closed.message and "t = 1, 2, 3, 4 for T = 4" in closed.message
    assert [f for f in found if f.line == 146 and f.check == "sizes"] == []  # no default sizes leaking in
    declared = {f.line for f in found if f.check == "declaration" and f.level == "ok"}
    assert {92, 96, 119, 123, 133, 143, 160} <= declared


def test_declared_sizes_are_symbolic_and_checked_by_name():
    m = model(D2L)
    assert {k: tuple(map(str, v)) for k, v in m.declared.items()} == {
        "x": ("d", "1"), "h": ("h", "1"), "W_hx": ("h", "d"), "W_hh": ("h", "h"), "W_qh": ("q", "h"),
        "o": ("q", "1")}
    good = parse_claim(m, r"\mathbf{W}_{qh}^\top \mathbf{o}_t + \mathbf{W}_{hx} \mathbf{x}_t", DEFAULT_LIMITS)
    assert tuple(map(str, shape_of(good, m.declared))) == ("h", "1")
    with pytest.raises(SizeConflict, match=r"h x d.*h x 1"):
        shape_of(parse_claim(m, r"\mathbf{W}_{hx} \mathbf{h}_t", DEFAULT_LIMITS), m.declared)


def _torch_rnn(seed: int, steps: int):
    """The d2l chapter's RNN in torch, a concrete loss (the average of squared errors), and autograd's gradients."""
    gen = torch.Generator().manual_seed(seed)
    h, d, q = 3, 2, 4

    def rand(*shape):
        return torch.rand(*shape, generator=gen, dtype=torch.float64) - 0.5

    w = {"W_hx": rand(h, d), "W_hh": rand(h, h), "W_qh": rand(q, h)}
    for tensor in w.values():
        tensor.requires_grad_()
    xs, ys = [rand(d, 1) for _ in range(steps)], [rand(q, 1) for _ in range(steps)]
    hs, os_ = [torch.zeros(h, 1, dtype=torch.float64)], []
    for k in range(steps):
        hs.append(w["W_hx"] @ xs[k] + w["W_hh"] @ hs[-1])
        hs[-1].retain_grad()
        os_.append(w["W_qh"] @ hs[-1])
        os_[-1].retain_grad()
    loss = sum(((o - y) ** 2).sum() / 2 for o, y in zip(os_, ys, strict=True)) / steps
    loss.backward()
    w = {k: v.detach().numpy() for k, v in w.items()}
    return w, [hk.grad.numpy() for hk in hs[1:]], [o.grad.numpy() for o in os_]


def _closed(w, do, t, steps, power, index):
    """sum_{i=t}^{T} (W_hh^T)^{power(T, t, i)} W_qh^T dL/do_{index(T, t, i)} (1-based t, i), in NumPy; None when
    it names an output the sequence does not have."""
    if not all(1 <= index(steps, t, i) <= steps for i in range(t, steps + 1)):
        return None
    return sum(np.linalg.matrix_power(w["W_hh"].T, power(steps, t, i)) @ w["W_qh"].T @ do[index(steps, t, i) - 1]
               for i in range(t, steps + 1))


CLAIMS = [  # the claim as written, and the same formula written independently in NumPy
    (r"\sum_{i=t}^T {\left(\mathbf{W}_{hh}^\top\right)}^{T-i} \mathbf{W}_{qh}^\top "
     r"\frac{\partial L}{\partial \mathbf{o}_{T+t-i}}", lambda T, t, i: T - i, lambda T, t, i: T + t - i),
    (r"\sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{i-t} \mathbf{W}_{qh}^\top "
     r"\frac{\partial L}{\partial \mathbf{o}_{i}}", lambda T, t, i: i - t, lambda T, t, i: i),
    (r"\sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{i-t+1} \mathbf{W}_{qh}^\top "
     r"\frac{\partial L}{\partial \mathbf{o}_{i}}", lambda T, t, i: i - t + 1, lambda T, t, i: i),
    (r"\sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i} \mathbf{W}_{qh}^\top "
     r"\frac{\partial L}{\partial \mathbf{o}_{i}}", lambda T, t, i: T - i, lambda T, t, i: i),
    (r"\sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i} \mathbf{W}_{qh}^\top "
     r"\frac{\partial L}{\partial \mathbf{o}_{T-t+i}}", lambda T, t, i: T - i, lambda T, t, i: T - t + i),
]


@pytest.mark.parametrize("n", range(len(CLAIMS)))
def test_the_checker_agrees_with_torch_autograd(n):
    """A closed form is true for the concrete loss (torch autograd, every t at T = 3, 4, 5) iff symrnn, which
    knows nothing of that loss, calls it true for every per-step loss."""
    text, power, index = CLAIMS[n]
    truth = True
    for steps in (3, 4, 5):
        w, dh, do = _torch_rnn(steps, steps)
        for t in range(1, steps + 1):
            value = _closed(w, do, t, steps, power, index)
            truth &= value is not None and np.allclose(value, dh[t - 1], atol=1e-12)
    m = model(D2L)
    claim = parse_claim(m, r"\frac{\partial L}{\partial \mathbf{h}_t} = " + text, DEFAULT_LIMITS)
    assert (compare(m, claim)[0] == "ok") == truth
    assert truth == (n < 2)  # the two correct enumerations; the other three are wrong


def test_the_reference_matches_torch_on_the_abstract_loss():
    """The instance's dL/dh_t and dL/dW (central differences, an abstract loss with random gradients g_t) against
    torch autograd of (1/T) sum_t g_t . o_t on the same weights."""
    inst = Instance(model(D2L), seed=5, steps=4)

    def tensor(a, grad=False):
        return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)

    w = {k: tensor(v, True) for k, v in inst.params.items()}
    hs = [tensor(inst.h0["h"])]
    loss = 0
    for k in range(inst.T):
        hs.append(w["W_hx"] @ tensor(inst.xs[k]) + w["W_hh"] @ hs[-1])
        hs[-1].retain_grad()
        loss = loss + (tensor(inst.step_grads[k]) * (w["W_qh"] @ hs[-1])).sum() / inst.T
    loss.backward()
    with mpmath.workdps(30):
        for k in range(1, inst.T + 1):
            assert np.allclose(np.asarray(inst.total("h", k), dtype=float), hs[k].grad.numpy(), atol=1e-12)
        for name, tw in w.items():
            assert np.allclose(np.asarray(inst.gradient(name), dtype=float), tw.grad.numpy(), atol=1e-12)
        jac = np.asarray(inst.jacobian(("h", 3), ("h", 2)), dtype=float)
    assert np.allclose(jac, np.asarray(inst.params["W_hh"], dtype=float), atol=1e-12)


def test_a_jacobian_of_the_tanh_step_matches_torch():
    inst = Instance(model(DATA / "tanh_jacobians.md"), seed=2)
    w, u = (torch.tensor(np.asarray(inst.params[k], dtype=float), dtype=torch.float64) for k in ("W", "U"))
    x3 = torch.tensor(np.asarray(inst.xs[2], dtype=float), dtype=torch.float64)
    h2 = torch.tensor(np.asarray(inst.values[("h", 2)], dtype=float), dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda h: torch.tanh(w @ h + u @ x3), h2).reshape(2, 2)
    with mpmath.workdps(30):
        got = np.asarray(inst.jacobian(("h", 3), ("h", 2)), dtype=float)
    assert np.allclose(got, expected.numpy(), atol=1e-12)


def test_hostile_closed_forms_are_not_evaluated():
    """A sum over 10^12 terms, or a product whose index shadows the sum's, is a warning saying what was not
    checked, found fast; nothing is expanded."""
    import time

    text = (DATA / "linear_bold.md").read_text().split("\n")
    text[30] = text[30].replace(r"\sum_{i=t}^{T}", r"\sum_{i=1}^{10^{12}}")
    text[38] = text[38].replace(r"\prod_{k=t+1}^{i}", r"\prod_{i=t+1}^{i}")
    start = time.monotonic()
    found = audit.audit_text("\n".join(text))
    assert time.monotonic() - start < 20
    for line in (31, 39):
        [f] = [f for f in found if f.line == line and f.check == "bptt"]
        assert f.level == "warning" and f.message.startswith("not checked"), f


MINIBATCH = r"""The input is $\mathbf{X}_t \in \mathbb{R}^{n \times d}$,
the state $\mathbf{H}_t \in \mathbb{R}^{n \times h}$,
the weights $\mathbf{W}_{xh} \in \mathbb{R}^{d \times h}$, $\mathbf{W}_{hh} \in \mathbb{R}^{h \times h}$ and the bias
$\mathbf{b}_h \in \mathbb{R}^{1 \times h}$ (added to every row).

$$\mathbf{H}_t = \mathbf{X}_t \mathbf{W}_{xh} + \mathbf{H}_{t-1} \mathbf{W}_{hh} + \mathbf{b}_h$$

$$\mathbf{H}_t = \mathbf{X}_t \mathbf{W}_{xh} + \mathbf{W}_{hh} \mathbf{H}_{t-1} + \mathbf{b}_h$$

With $d = h = n = 1$ the two agree:

$$\mathbf{W}_{hh} \mathbf{H}_{t-1} = \mathbf{H}_{t-1} \mathbf{W}_{hh}$$
"""


def test_sizes_against_declarations_in_minibatch_notation():
    """Products and sums of declared matrices: a broadcast bias row fits, H_{t-1} on the wrong side is an error
    naming both shapes, and after the document sets the sizes to 1 nothing is a mismatch."""
    found = audit.audit_text(MINIBATCH)
    sizes = [f for f in found if f.check == "sizes"]
    assert [(f.line, f.level) for f in sizes] == [(8, "error")], sizes
    assert "W_{hh} (h x h) by H_{t - 1} (n x h)" in sizes[0].message
    unset = audit.audit_text(MINIBATCH.replace("$d = h = n = 1$", "small sizes"))
    assert [(f.line, f.level) for f in unset if f.check == "sizes"] == [(8, "error"), (12, "error")]


def test_a_suggestion_writes_transposes_as_the_document_does():
    """linear_plain writes ``U^T`` (and ``\\sum_{k=t}^{T}``, not a transpose): its corrections use ``^T`` too."""
    source = (DATA / "linear_plain_planted.md").read_text(encoding="utf-8")
    assert r"\top" not in source and "^T" in source
    suggestions = [f.suggestion for f in findings(DATA / "linear_plain_planted.md") if f.suggestion]
    assert suggestions and all(r"\top" not in s for s in suggestions)
    assert any("^T" in s for s in suggestions)
