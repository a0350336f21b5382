# ruff: noqa: E501 - the Markdown document below keeps its equations on one line each, as lectures do
"""``symrnn audit``: the lecture's mistakes found from the mathematics, and no false alarm on correct content."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from symrnn import audit

GOOD = r"""# A correct RNN lecture (another sentence, other matrices, another nonlinearity)

$$\vec{x}_t = \begin{bmatrix} 1 \text{ if } X_t = \text{cat} \\ 1 \text{ if } X_t = \text{dog} \\ 1 \text{ if } X_t = \text{runs} \end{bmatrix}$$

$$\vec{h}_t = g(U\vec{h}_{t-1} + W\vec{x}_t) \approx \begin{bmatrix} P(Y_t = \text{Noun}|X_1, \dots, X_t) \\ P(Y_t = \text{Verb}|X_1, \dots, X_t) \end{bmatrix}$$

$$g(\vec{\xi}) = \begin{bmatrix} \tanh_1(\vec{\xi}) \\ \tanh_2(\vec{\xi}) \end{bmatrix}, \tanh_j(\vec{\xi}) = \tanh(\xi_j)$$

$$u_{j,i} = P(Y_t = j|Y_{t-1} = i), \qquad U = \frac{1}{4} \begin{bmatrix} 1 & 3 \\ 3 & 1 \end{bmatrix}$$
$$w_{j,k} = P(X_t = k | Y_t = j), \qquad W = \frac{1}{10} \begin{bmatrix} 5 & 4 & 1 \\ 1 & 1 & 8 \end{bmatrix}$$

$$\vec{x}_1 = \begin{bmatrix} 0\\1\\0 \end{bmatrix}, \vec{x}_2 = \begin{bmatrix} 0\\0\\1 \end{bmatrix}$$

$$\vec{h}_{1} = g(U\vec{h}_{0} + W\vec{x}_{1}) = g\left(\begin{bmatrix}0.40\\0.10\end{bmatrix}\right) = \begin{bmatrix}H11\\H21\end{bmatrix}$$
$$\vec{h}_{2} = g(U\vec{h}_{1} + W\vec{x}_{2}) = g\left(\frac{1}{4}\begin{bmatrix}1&3\\3&1\end{bmatrix}\begin{bmatrix}H11\\H21\end{bmatrix} + \frac{1}{10}\begin{bmatrix}5&4&1\\1&1&8\end{bmatrix}\begin{bmatrix}0\\0\\1\end{bmatrix}\right) = \begin{bmatrix}H12\\H22\end{bmatrix}$$

So $P(Y_2 = \text{Verb} | X_1 = \text{dog}, X_2 = \text{runs}) \approx H22$.

$$u_{j,i} \leftarrow u_{j,i} - \eta \frac{\partial \mathfrak{L}}{\partial u_{j,i}}$$

...where $\mathfrak{L}$ is the loss function.

$$\frac{d\mathfrak{L}}{dh_{i,t}} = \frac{\partial\mathfrak{L}}{\partial h_{i,t}} + \sum_j \frac{d\mathfrak{L}}{dh_{j,t+1}} \frac{\partial h_{j,t+1}}{\partial h_{i,t}}$$

$$\frac{d\mathfrak{L}}{du_{j,i}} = \sum_{t=1}^{T} \frac{d\mathfrak{L}}{dh_{j,t}} \frac{\partial h_{j,t}}{\partial u_{j,i}}$$
"""


def good_document(**override: str) -> str:
    """GOOD with its numbers computed independently (float64 NumPy), two decimals, unless overridden."""
    U = np.array([[1, 3], [3, 1]]) / 4  # noqa: N806
    W = np.array([[5, 4, 1], [1, 1, 8]]) / 10  # noqa: N806
    h1 = np.tanh(W[:, 1])
    h2 = np.tanh(U @ np.round(h1, 2) + W[:, 2])
    values = {"H11": h1[0], "H21": h1[1], "H12": h2[0], "H22": h2[1]}
    text = GOOD
    for key, v in values.items():
        text = text.replace(key, override.get(key, f"{v:.2f}"))
    return text


@pytest.fixture(scope="module")
def lecture_findings():
    return audit.lecture_findings()


def at(findings, line: int, level: str | None = None, check: str | None = None) -> list[audit.Finding]:
    return [f for f in findings if f.line == line and (level is None or f.level == level)
            and (check is None or f.check == check)]


def test_a_correct_lecture_gets_no_warning_and_no_error():
    findings = audit.audit_text(good_document())
    assert [f for f in findings if f.level != "ok"] == []
    checks = {f.check for f in findings}
    assert {"worked example", "claim", "distribution", "update", "derivative"} <= checks
    assert len(at(findings, 23, "ok", "derivative")) == 1 and len(at(findings, 25, "ok", "derivative")) == 1


def test_a_wrong_number_in_another_lecture_is_an_error_at_its_line():
    findings = audit.audit_text(good_document(H22="0.85"))
    errors = [f for f in findings if f.level == "error"]
    assert {f.line for f in errors} == {15, 17}
    assert "entry 2 shows 0.85, recomputed 0.80" in at(findings, 15, "error")[0].message
    # one unit in the last place is a warning, not an error
    findings = audit.audit_text(good_document(H12="0.27", H22="0.80"))
    assert [f.level for f in at(findings, 15, check="worked example")] == ["warning"]


def test_a_distribution_that_does_not_sum_to_one_is_named():
    text = good_document().replace(r"1 & 3 \\ 3 & 1", r"1 & 3 \\ 2 & 1")
    found = [f for f in audit.audit_text(text) if f.check == "distribution" and f.level == "error"]
    assert len(found) == 1 and "column 1 sums to 3/4" in found[0].message


def test_lecture_numbers_are_recomputed_from_its_own_matrices(lecture_findings):
    # independent float64 recomputation of the lecture's example: softmax(W x_1 - 1) with x_1 = John
    pre = np.array([0.01, 0.49, 0.01])
    h1 = np.exp(pre - 1) / np.exp(pre - 1).sum()
    assert f"{h1[1]:.2f}" == "0.45"
    [h1_line] = at(lecture_findings, 155, "warning", "worked example")
    assert "entry 2 shows 0.44, recomputed 0.45" in h1_line.message
    assert "cannot be read: ragged bmatrix: row 1 has 5" in at(lecture_findings, 155, "error")[0].message
    assert at(lecture_findings, 156, "ok", "worked example") and at(lecture_findings, 157, "ok", "worked example")
    [h4] = [f for f in at(lecture_findings, 158, "error") if "states" in f.message]
    assert "shown with 4 entries; the model has 3 states. Recomputed: [0.24, 0.53, 0.24]" in h4.message
    claims = at(lecture_findings, 163, check="claim")
    assert [f.level for f in claims] == ["warning", "ok", "ok", "ok"]
    assert math.isclose(float(claims[0].message.split("= ")[1].split(":")[0]), round(h1[1], 2))


def test_lecture_sizes_indices_updates_and_derivatives(lecture_findings):
    assert "\\vec{x}_4 has 5 entries but W has 4 columns" in at(lecture_findings, 128, "error", "sizes")[0].message
    assert "holds only if N = V + 1" in at(lecture_findings, 267, "warning", "sizes")[0].message
    assert "a \\sum_j is missing" in at(lecture_findings, 203, "error", "indices")[0].message
    assert at(lecture_findings, 203, "error", "derivative") and at(lecture_findings, 215, "error", "derivative")
    assert "names \\mathfrak{L} as the loss" in at(lecture_findings, 181, "warning", "update")[0].message
    assert "the relation \\neq has no right side" in at(lecture_findings, 36, "error")[0].message
    assert "g takes 1 argument here but 2 arguments on line 106" in at(lecture_findings, 135, "warning")[0].message
    assert at(lecture_findings, 261, "warning", "kinds")
    assert at(lecture_findings, 147, "ok", "distribution") and at(lecture_findings, 149, "ok", "distribution")


def test_no_false_alarm_on_the_lectures_correct_equations(lecture_findings):
    flagged = {f.line for f in lecture_findings if f.level != "ok"}
    for line in (25, 35, 39, 59, 60, 61, 69, 73, 77, 84, 140, 156, 157, 280, 293, 301):
        assert line not in flagged, [f for f in lecture_findings if f.line == line]


def test_the_command_prints_json_and_exits_non_zero_on_errors(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    audit.register(parser.add_subparsers(dest="command"))
    good = tmp_path / "good.md"
    good.write_text(good_document())
    args = parser.parse_args(["audit", str(good), "--json"])
    assert args.func(args) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all({"line", "level", "message"} <= set(r) and r["level"] in audit.LEVELS for r in rows)
    bad = tmp_path / "bad.md"
    bad.write_text(good_document(H22="0.85"))
    args = parser.parse_args(["audit", str(bad)])
    assert args.func(args) == 1
    assert f"{bad}:15: error:" in capsys.readouterr().out


def test_a_span_is_split_at_top_level_equals_and_approx_only():
    from symrnn.audit.reading import split_top

    assert split_top(r"a = \left( b = c \right) \approx d = {e = f}") == ["a", r"\left( b = c \right)", "d", "{e = f}"]


def test_the_probe_rnn_differentiates_its_loss_like_float64_autodiff_by_hand():
    import sympy as sp
    import torch

    from symrnn import notation as nt
    from symrnn.audit.derivatives import ProbeRNN
    from symrnn.models.nonlinearities import Nonlinearity

    g = Nonlinearity("tanh", "tanh", lambda xi: xi.applyfunc(sp.tanh), None, scalar=sp.tanh)
    probe = ProbeRNN(g)
    U = torch.tensor([[float(e) for e in row] for row in probe.U.tolist()], dtype=torch.float64, requires_grad=True)  # noqa: N806
    W = torch.tensor([[float(e) for e in row] for row in probe.W.tolist()], dtype=torch.float64)  # noqa: N806
    h, loss = torch.zeros(2, dtype=torch.float64), 0
    for s, x in enumerate(probe.xs, start=1):
        h = torch.tanh(U @ h + W[:, x - 1])
        loss = loss + sum(float(probe.coef[(j, s)][0]) * h[j - 1] + float(probe.coef[(j, s)][1]) * h[j - 1] ** 2
                          for j in (1, 2))
    loss.backward()
    u12 = sp.Indexed(sp.IndexedBase("u"), 1, 2)
    got = probe.derivative(nt.TotalDerivative(sp.Symbol("L"), u12))
    assert abs(float(got) - U.grad[0, 1].item()) < 1e-12
