# ruff: noqa: E501 - the Markdown document below keeps its equations on one line each, as lectures do
"""``symrnn audit``: the lecture's mistakes found from the mathematics, and no false alarm on correct content."""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pytest

from symrnn import audit, cli
from symrnn import notation as nt
from symrnn.core.budget import Budget

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


# ---- any input, bounded (issue 11): no traceback, no hang, no code run --------------------------------------------

def _steps_document(count: int) -> tuple[str, list[np.ndarray]]:
    """GOOD's model with ``count`` worked steps, each showing the state recomputed independently (float64)."""
    U = np.array([[1, 3], [3, 1]]) / 4  # noqa: N806
    W = np.array([[5, 4, 1], [1, 1, 8]]) / 10  # noqa: N806
    words = [(t % 3) for t in range(1, count + 1)]
    h, states = np.zeros(2), []
    for k in words:
        h = np.tanh(U @ h + W[:, k])
        states.append(h)
    head = "\n".join(good_document().split("\n")[:12])
    def one_hot(k: int) -> str:
        return r"\\".join("1" if r == k else "0" for r in range(3))

    xs = ", ".join(rf"\vec{{x}}_{{{t}}} = \begin{{bmatrix}} {one_hot(k)} \end{{bmatrix}}"
                   for t, k in enumerate(words, start=1))
    steps = "\n".join(rf"$$\vec{{h}}_{{{t}}} = g(U\vec{{h}}_{{{t - 1}}} + W\vec{{x}}_{{{t}}}) = "
                      rf"\begin{{bmatrix}}{s[0]:.2f}\\{s[1]:.2f}\end{{bmatrix}}$$" for t, s in enumerate(states, start=1))
    return f"{head}\n\n$${xs}$$\n\n{steps}\n", states


def _no_internal(findings):
    assert [f for f in findings if f.check == "internal"] == []
    return findings


def test_adding_matrices_of_different_sizes_is_a_finding_not_a_traceback():
    [f] = _no_internal(audit.audit_text("$U + W$"))
    assert (f.level, f.check) == ("warning", "sizes") and f.message.endswith("holds only if N = V + 1")
    [f] = _no_internal(audit.audit_text("$z = U h_{t-1} + W x_t$\n"))
    assert f.check == "sizes" and "holds only if N = V + 1" in f.message
    # as a cell's definition the same sum is read in the document's notation: W is N x D, no doubt about sizes
    [f] = _no_internal(audit.audit_text("$h_t = U h_{t-1} + W x_t$\n"))
    assert (f.level, f.check) == ("ok", "equation") and "defines h_t" in f.message
    text = r"$\begin{bmatrix}1\\2\end{bmatrix} + \begin{bmatrix}1\\2\\3\end{bmatrix}$"
    assert [f.level for f in audit.audit_text(text) if f.check in ("sizes", "syntax")] == ["error"]


def test_huge_powers_are_refused_by_name_at_once():
    for text in ("$y = 2^{10^{10}}$", "$y = 99^4656733$"):
        [f] = audit.audit_text(text)
        assert f.level == "unread" and "a power whose value could have about" in f.message  # symrnn's limit


def test_a_derivative_with_a_sum_of_a_hundred_million_terms_is_not_expanded():
    line = r"$$\frac{d\mathfrak{L}}{du_{j,i}} = \sum_{t=1}^{100000000} 1$$"
    assert len(line.encode()) < 164
    findings = _no_internal(audit.audit_text(good_document() + "\n" + line + "\n"))
    [f] = [f for f in findings if f.line == 27]
    assert (f.level, f.check) == ("warning", "derivative")
    assert "not checked: a sum of 100000000 terms" in f.message


def test_eight_worked_steps_are_recomputed_quickly_and_right():
    text, states = _steps_document(8)
    start = time.perf_counter()
    findings = _no_internal(audit.audit_text(text))
    assert time.perf_counter() - start < 30  # was past 60 s: exact nested tanh grew with every step
    steps = [f for f in findings if f.check == "worked example"]
    assert len(steps) == 8 and all(f.level == "ok" for f in steps), steps
    assert f"\\vec{{h}}_8 = [{states[-1][0]:.2f}, {states[-1][1]:.2f}] recomputed, as shown" in steps[-1].message


def test_a_file_larger_than_the_byte_cap_is_refused_without_reading_it(tmp_path):
    [f] = audit.audit_file("/dev/zero")
    assert f.level == "error" and "larger than the limit of 2000000 bytes" in f.message
    small = Budget(max_bytes=10)
    path = tmp_path / "a.md"
    path.write_text("$x$ and $y$ and $z$\n")
    assert "larger than the limit of 10 bytes" in audit.audit_file(path, small)[0].message
    assert "more than the limit of 10" in audit.audit_text("$x$ and $y$ and $z$\n", small)[0].message
    path.write_bytes(b"$x$ \xff\n")
    assert "not UTF-8" in audit.audit_file(path)[0].message
    assert "No such file" in audit.audit_file(tmp_path / "missing.md")[0].message


def test_spans_are_numbered_in_linear_time_and_capped():
    from symrnn.lecture25.source import equations

    def seconds(text: str) -> float:  # CPU time, less disturbed by other jobs than the wall clock
        start = time.process_time()
        equations(text)
        return time.process_time() - start

    text = "$x$\n" * 250_000  # 1 MB: was 60 s, the newlines counted from the start for every span
    small, large = min(seconds(text[:100_000]) for _ in range(3)), min(seconds(text) for _ in range(2))
    assert large < 10 * 5 * small + 1.0 and large < 30  # 10 times the text: about 10 times the time, not 100
    eqs = equations(text)
    assert [e.line for e in eqs[:3]] == [1, 2, 3] and eqs[-1].line == 250_000
    mixed = "a\n\n$x$ $$y\nz$$\n$w$"
    assert [(e.line, e.text) for e in equations(mixed)] == [(3, "x"), (3, "y\nz"), (5, "w")]
    findings = audit.audit_text("$x$\n" * 12, Budget(max_spans=10))
    assert len(findings) == 11 and findings[-1].line == 11 and findings[-1].level == "error"
    assert "12 math spans, more than the limit of 10 (--max-spans raises it)" in findings[-1].message


def test_numbers_beyond_printing_are_compared_without_losing_the_findings():
    text = good_document().replace(r"\tanh(\xi_j)", r"\xi_j").replace(
        r"U = \frac{1}{4} \begin{bmatrix} 1 & 3 \\ 3 & 1 \end{bmatrix}",
        r"U = \begin{bmatrix} 10^{3000} & 10^{3000} \\ 1 & 1 \end{bmatrix}").replace(
        r"W = \frac{1}{10} \begin{bmatrix} 5 & 4 & 1 \\ 1 & 1 & 8 \end{bmatrix}",
        r"W = \begin{bmatrix} 10^{3000} & 10^{3000} & 10^{3000} \\ 1 & 1 & 8 \end{bmatrix}")
    findings = _no_internal(audit.audit_text(text))
    assert "column 1 sums to 1.00000e+3000" in at(findings, 9, "error", "distribution")[0].message
    # g is the identity: h_1 = W x_1 = (10^3000, 1); h_2 = U h_1 + W x_2 = (10^6000 + 2 * 10^3000, 10^3000 + 9),
    # whose first entry has 6,001 digits: more than Python prints
    [h2] = [f for f in at(findings, 15, "error", "worked example") if "recomputed:" in f.message]
    assert h2.message.startswith("\\vec{h}_2 = [1.00000e+6000, 1.00000e+3000] recomputed: entry 1 shows")
    assert len(findings) > 10 and at(findings, 23, "ok", "derivative")


def test_a_check_past_the_time_limit_is_a_warning_and_the_rest_is_kept(monkeypatch):
    import symrnn.audit.report as report

    def slow(span, rel, doc, g, out):
        if isinstance(rel.lhs, nt.TotalDerivative) and span.line == 23:
            time.sleep(30)

    monkeypatch.setattr(report, "check_derivative", slow)
    start = time.perf_counter()
    findings = audit.audit_text(good_document(), Budget(seconds=1))
    assert time.perf_counter() - start < 20
    [f] = at(findings, 23)
    assert (f.level, f.check) == ("warning", "budget") and f.message == \
        "not checked: ran past the limit of 1 s (--seconds raises it)"
    assert len(at(findings, 15, "ok", "worked example")) == 1 and at(findings, 25, "ok")

    def slow_sizes(span, expr, doc, out):  # a structural check, run in-process under a deadline
        if span.line == 3:
            time.sleep(30)

    monkeypatch.setattr(report, "check_sizes", slow_sizes)
    findings = audit.audit_text(good_document(), Budget(seconds=1))
    assert [f.message for f in at(findings, 3)] == ["not checked: ran past the limit of 1 s (--seconds raises it)"]


def test_a_check_out_of_memory_or_failing_is_a_finding_naming_it(monkeypatch):
    import symrnn.audit.report as report

    def hungry(span, rel, doc, g, out):
        if span.line == 23:
            bytearray(600 * 1024 * 1024)

    def broken(span, rel, out):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(report, "check_derivative", hungry)
    monkeypatch.setattr(report, "check_kinds", broken)
    findings = audit.audit_text(good_document(), Budget(memory_mb=400))
    assert [f.message for f in at(findings, 23)] == ["not checked: needed more than 400 MB (--memory-mb raises it)"]
    failed = at(findings, 3, "warning", "internal")
    assert failed and failed[0].message == "not checked: the kinds check failed (RuntimeError: boom)"
    assert at(findings, 15, "ok", "worked example")


def test_a_step_after_one_that_was_stopped_is_not_recomputed_from_a_wrong_state(monkeypatch):
    from symrnn.models.rnn import RNN

    step = RNN.step

    def stuck(self, h, x):
        if x[2] == 1:  # step 2 reads the third word
            time.sleep(30)
        return step(self, h, x)

    monkeypatch.setattr(RNN, "step", stuck)
    findings = audit.audit_text(good_document(), Budget(seconds=2))
    assert at(findings, 15, "warning", "budget")
    assert "step 2 was not checked" not in " ".join(f.message for f in findings)  # no step 3 in GOOD
    text, _ = _steps_document(3)
    findings = audit.audit_text(text, Budget(seconds=2))  # words 1, 2, 0: step 2 reads the third word
    worked = [f for f in findings if f.check in ("worked example", "budget")]
    assert [f.level for f in worked] == ["ok", "warning", "warning"]
    assert worked[2].message == "step 2 was not checked: step 3 not recomputed"


def test_the_lecture_audit_is_unchanged_by_the_budget(lecture_findings):
    assert audit.summary(lecture_findings) == "80 ok, 10 warnings, 10 errors"  # the 3 unreadable spans are defects
    assert not [f for f in lecture_findings if f.check in ("internal", "budget")]


def test_a_document_past_its_total_time_stops_and_keeps_the_findings_made():
    texts = [r"$$u_{j,i} \leftarrow u_{j,i} - \eta \frac{\partial \mathfrak{L}}{\partial u_{j,i}}$$",  # in a worker
             r"$U + W$", r"$$\vec{h}_{t} = U\vec{h}_{t-1}$$", r"$$\sum_{t=1}^{T} t = 3$$"]
    lines = [texts[k % 4] for k in range(2000)]  # one span per line: about 10 s of checks in all
    start = time.perf_counter()
    findings = audit.audit_text("\n".join(lines) + "\n", Budget(total_seconds=0.5))
    assert time.perf_counter() - start < 5
    [stop] = [f for f in findings if f.check == "budget"]
    checked = stop.line - 1
    assert 0 < checked < 2000 and findings[-1] is stop
    assert (stop.level, stop.message) == ("error", f"not checked from here: {2000 - checked} of 2000 math spans, the "
                                          "audit ran past its limit of 0.5 s for the whole document (--total-seconds "
                                          "raises it)")
    prefix = audit.audit_text("\n".join(lines[:checked]) + "\n")  # the same spans, audited without a total limit
    assert findings[:-1] == prefix and {f.level for f in prefix} == {"ok", "warning"}


def test_reading_the_spans_counts_against_the_total_time(monkeypatch):
    import symrnn.audit.report as report

    read = report.read
    calls = []

    def slow_read(*args):
        calls.append(1)
        time.sleep(0.05)
        return read(*args)

    monkeypatch.setattr(report, "read", slow_read)
    text = "# notes\n\n" + "".join(f"$x_{{{k}}} = {k}$\n" for k in range(1, 401))  # 400 distinct spans: 20 s to read
    start = time.perf_counter()
    findings = audit.audit_text(text, Budget(total_seconds=0.5))
    assert time.perf_counter() - start < 3 and len(calls) < 40
    assert findings == [audit.Finding(3, "error", "not checked from here: 400 of 400 math spans, the audit ran past its "
                                      "limit of 0.5 s for the whole document (--total-seconds raises it)", "budget")]


def test_a_span_symrnn_cannot_read_is_unread_not_an_error():
    """Unknown notation is a limit of the reader (``unread``, with reason and position, exit status 0); malformed
    mathematics (a ragged matrix) is an error in the document."""
    text = "$$\\frobnicate{h} = 2$$\n\n$$A = \\begin{bmatrix} 1 & 2 \\\\ 3 \\end{bmatrix}$$\n"
    findings = audit.audit_text(text)
    unread = [f for f in findings if f.level == "unread"]
    assert [f.line for f in unread] == [1] and "frobnicate" in unread[0].message and "at character" in \
        unread[0].message
    assert [f.line for f in findings if f.level == "error"] == [3]
    assert audit.summary(findings).endswith(", 1 unread")
    assert "unread" in audit.LEVELS


def test_only_unread_spans_leave_the_exit_status_zero(tmp_path, capsys):
    path = tmp_path / "notes.md"
    path.write_text("$$\\frobnicate{h} = 2$$\n")
    assert cli.main(["audit", str(path), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["level"] == "unread" and set(row) == {"line", "level", "message", "check"}


def test_an_update_that_sets_a_number_to_a_matrix_is_a_size_error():
    """Found by ``benchmarks/fuzz_audit.py`` (case 13640, seed 0): it escaped as an internal TypeError."""
    [f] = audit.audit_text(r"$u_{j,i} \leftarrow u_{j,i} U \eta \frac{\partial \Omega}{\partial u_{j,i}}$")
    assert (f.level, f.check) == ("error", "sizes") and "(a number) to a matrix or vector" in f.message
    [ok] = audit.audit_text(r"$u_{j,i} \leftarrow u_{j,i} - \eta \frac{\partial \Omega}{\partial u_{j,i}}$")
    assert ok.level == "ok"


@pytest.mark.parametrize("name", ["audit-seed0-13640.md", "audit-seed0-36515.md", "audit-seed0-37837.md",
                                  "audit-seed4-99.md", "audit-seed6-4608.md", "audit-seed7-corpus-11897.md",
                                  *(f"audit-seed41-cells-{n}.md" for n in (163, 204, 245, 462, 843, 911)),
                                  "audit-seed43-corpus-2583.md", "audit-seed43-corpus-2954.md",
                                  "audit-seed42-cells-1215.md", "audit-seed52-corpus-2819.md",
                                  "audit-seed61-cells-80.md", "audit-seed91-cells-359.md",
                                  "audit-seed91-cells-894.md"])
def test_documents_the_long_fuzz_run_broke_are_audited(name):
    """Cases on which ``benchmarks/fuzz_audit.py`` once found a check failing inside (tests/data/fuzz/SOURCES.md)."""
    from pathlib import Path

    text = (Path(__file__).parent / "data" / "fuzz" / name).read_text(encoding="utf-8")
    findings = audit.audit_text(text)
    assert findings and not [f.message for f in findings if f.check == "internal"]


def test_a_claim_about_an_event_that_is_not_a_random_variable_is_not_checked():
    """Found by the CI fuzz test: ``P(2 Y_2 = Verb | ...)`` has an event on a product, not on a random variable."""
    [f] = audit.audit_text(r"$P(2 Y_2 = \text{Verb} | X_1 = \text{John}) \approx 0.60$")
    assert f.check != "internal" and f.level == "ok"


def test_sizes_symrnn_assumed_give_a_warning_and_numbers_an_error():
    """Only what the document itself shows is an error: ``\\vec{b} + W`` clashes only under symrnn's default
    sizes (N x 1 and N x (V+1)); two explicit matrices of 2 and 3 rows clash for certain."""
    [assumed] = [f for f in audit.audit_text(r"$\vec{y} = \vec{b} + W$") if f.check == "sizes"]
    assert assumed.level == "warning" and "symrnn assumed" in assumed.message
    text = r"$C = \begin{bmatrix} 1 \\ 2 \end{bmatrix} + \begin{bmatrix} 1 \\ 2 \\ 3 \end{bmatrix}$"
    assert [f.level for f in audit.audit_text(text) if f.check == "sizes"] == ["error"]


@pytest.mark.parametrize(("update", "level"), [
    (r"W_{hh} \leftarrow W_{hh} - \eta \frac{\partial L}{\partial W_{hh}}", "ok"),
    (r"W_{hh} \leftarrow W_{hh} + \eta \frac{\partial L}{\partial W_{hh}}", "error"),
    (r"U \leftarrow U - \eta \nabla_U L", "ok"),
    (r"\mathbf{b} \leftarrow \mathbf{b} - \frac{\eta}{T} \frac{\partial L}{\partial \mathbf{b}}", "ok"),
])
def test_a_matrix_or_vector_update_is_checked_for_its_direction(update, level):
    """A gradient-descent step on a matrix or a vector (its derivative a matrix, not a number) must step against
    the gradient: minus a positive multiple of it."""
    [f] = [f for f in audit.audit_text(f"${update}$") if f.check == "update"]
    assert f.level == level, f
    if level == "error":
        assert r"\frac{\partial L}{\partial W_{hh}}" in f.message  # printed as the document writes it


def test_a_loss_whose_target_is_not_y_is_named_as_the_reason_nothing_is_checked():
    """A document whose outputs are y_t and whose targets are z_t: its loss is not read, and the warnings on its
    claims say which line holds that loss, never an error."""
    text = "\n".join([
        r"$$h_t = \tanh(W_{hh} h_{t-1} + W_{xh} x_t + b_h)$$",
        r"The output is $y_t = W_{hy} h_t + b_y$, with $p_t = \mathrm{softmax}(y_t)$.",
        "",
        r"$$L = -\sum_t \sum_k z_{k,t} \log p_{k,t}$$",
        "",
        r"$$\frac{\partial L}{\partial W_{hy}} = \sum_t (p_t - z_t) h_t^\top$$",
    ])
    findings = audit.audit_text(text)
    assert not [f for f in findings if f.level == "error"]
    [claim] = [f for f in findings if f.line == 6]
    assert claim.level == "warning" and "the loss on line 4 names no target y" in claim.message
