"""The audit on HMM documents in several notations (``tests/data/audit_hmm/``): every planted error listed in
SOURCES.md found at its line with the clean twin's statement as the suggestion, no error on the clean twins, and
every number the clean twins show checked against an independent enumeration of the HMM's state paths."""

from __future__ import annotations

import functools
import itertools
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest

from symrnn.audit.report import audit_text

DATA = Path(__file__).resolve().parent / "data" / "audit_hmm"
CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
F = Fraction


@functools.cache
def findings(name: str) -> tuple:
    return tuple(audit_text((DATA / name).read_text(encoding="utf-8")))


def planted() -> list[tuple[str, int, str]]:
    """(planted file, line, expected) from SOURCES.md's table."""
    rows = []
    for line in (DATA / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\S+_planted\.md) \| (\d+) \| .* \| ([^|]+) \|$", line)
        if m:
            rows.append((m.group(1), int(m.group(2)), m.group(3).strip()))
    return rows


PLANTED = planted()
PLANTED_FILES = sorted({f for f, _, _ in PLANTED})


def test_sources_lists_enough_planted_errors():
    assert len(PLANTED) >= 8 and len(PLANTED_FILES) >= 3
    for name in PLANTED_FILES:
        assert (DATA / name).is_file() and (DATA / name.replace("_planted", "")).is_file()


@pytest.mark.parametrize("name", PLANTED_FILES)
def test_twins_differ_only_at_the_planted_lines(name):
    clean = (DATA / name.replace("_planted", "")).read_text(encoding="utf-8").splitlines()
    bad = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert len(clean) == len(bad)
    changed = {n + 1 for n, (a, b) in enumerate(zip(clean, bad, strict=True)) if a != b}
    assert changed == {line for f, line, _ in PLANTED if f == name}


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(("name", "line", "expected"), PLANTED)
def test_planted_error_found_at_its_line(name, line, expected):
    errors = [f for f in findings(name) if f.level == "error" and f.line == line]
    assert errors, f"{name}:{line}: no error reported"
    if "suggestion" in expected:
        clean_line = (DATA / name.replace("_planted", "")).read_text(encoding="utf-8").splitlines()[line - 1]
        suggested = [f.suggestion for f in errors if f.suggestion]
        assert suggested, f"{name}:{line}: no suggestion"
        for s in suggested:  # every side of the suggestion is what the correct document writes there
            for side in s.split(" = "):
                assert _normal(side) in _normal(clean_line), (s, clean_line)


@pytest.mark.parametrize("name", PLANTED_FILES)
def test_no_error_away_from_the_planted_lines(name):
    lines = {line for f, line, _ in PLANTED if f == name}
    assert [f for f in findings(name) if f.level == "error" and f.line not in lines] == []


@pytest.mark.parametrize("name", [f.replace("_planted", "") for f in PLANTED_FILES])
def test_clean_twin_has_no_error(name):
    assert [f for f in findings(name) if f.level in ("error", "warning")] == []


# ---- the models, transcribed from the documents, and brute force over state paths ------------------------------

def _t(m):
    return [list(r) for r in zip(*m, strict=True)]


MODELS = {  # trans[i][j] = P(next = j | previous = i), emit[j][k], init[j], observations (0-based), states
    "lecture-hmm-tagging.md": (
        _t([[F(1, 10), F(1, 10), F(8, 10)], [F(8, 10), F(1, 10), F(1, 10)], [F(1, 10), F(8, 10), F(1, 10)]]),
        [[F(48, 100), F(1, 100), F(1, 100), F(48, 100), F(2, 100)],
         [F(1, 100), F(95, 100), F(1, 100), F(1, 100), F(2, 100)],
         [F(1, 100), F(1, 100), F(97, 100), F(1, 100), F(0)]],
        [F(5, 10), F(2, 10), F(3, 10)], [0, 1, 2, 3], ("Noun", "Verb", "Det")),
    "rabiner-weather.md": (
        [[F(7, 10), F(3, 10)], [F(4, 10), F(6, 10)]], [[F(1, 10), F(4, 10), F(5, 10)], [F(6, 10), F(3, 10), F(1, 10)]],
        [F(6, 10), F(4, 10)], [0, 1, 2], ("Rainy", "Sunny")),
    "jm-icecream-tables.md": (
        [[F(6, 10), F(4, 10)], [F(5, 10), F(5, 10)]], [[F(2, 10), F(4, 10), F(4, 10)], [F(5, 10), F(4, 10), F(1, 10)]],
        [F(8, 10), F(2, 10)], [2, 0, 2], ("HOT", "COLD")),
}


def brute(name: str, t: int, j: int, best: bool | str) -> Fraction:
    """alpha_t(j) (sum) or delta_t(j) (max) by enumerating every state path y_1..y_t with y_t = j; beta_t(j)
    (``best="back"``) over the paths y_{t+1}..y_T after it."""
    trans, emit, init, obs, _ = MODELS[name]
    if best == "back":
        total = F(0)
        for path in itertools.product(range(len(init)), repeat=len(obs) - t):
            p, here = F(1), j
            for s, y in enumerate(path):
                p *= trans[here][y] * emit[y][obs[t + s]]
                here = y
            total += p
        return total
    values = []
    for path in itertools.product(range(len(init)), repeat=t):
        if path[-1] != j:
            continue
        p = init[path[0]] * emit[path[0]][obs[0]]
        for s in range(1, t):
            p *= trans[path[s - 1]][path[s]] * emit[path[s]][obs[s]]
        values.append(p)
    return max(values) if best else sum(values)


def _rounded(x: Fraction, places: int) -> str:
    scaled = x * 10 ** places
    n = math.floor(scaled + F(1, 2))
    return f"{n // 10 ** places}.{n % 10 ** places:0{places}d}" if places else str(n)


_LHS = [(re.compile(r"^\\(alpha|delta|beta)_(\d)\((?:\\text\{)?(\w+)\}?\)$"), (1, 2, 3)),
        (re.compile(r"^(v)_(\d)\((?:\\text\{)?(\w+)\}?\)$"), (1, 2, 3)),
        (re.compile(r"^(h|v)_\{(\d),(\d)\}$"), (1, 3, 2)),
        (re.compile(r"^\\vec\{(h)\}_(\d)$"), (1, 2, None))]


def shown_numbers(name: str):
    """(line, t, state or None, best, shown text) for every worked line, read with regular expressions."""
    states = MODELS[name][4]
    for n, line in enumerate((DATA / name).read_text(encoding="utf-8").splitlines(), start=1):
        m = re.match(r"^\$\$(.*)\$\$$", line)
        if not m:
            continue
        lhs, last = m.group(1).split("=")[0].strip(), m.group(1).split("=")[-1].strip()
        for pattern, (q, tt, jj) in _LHS:
            hit = pattern.match(lhs)
            if not hit:
                continue
            best = "back" if hit.group(q) == "beta" else hit.group(q) in ("delta", "v")
            if jj is None:
                for j, value in enumerate(re.findall(r"\d+\.\d+", last)):
                    yield n, int(hit.group(tt)), j, best, value
            elif re.fullmatch(r"\d+\.\d+", last):
                s = hit.group(jj)
                yield n, int(hit.group(tt)), (int(s) - 1 if s.isdigit() else states.index(s)), best, last


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shown_numbers_agree_with_path_enumeration_and_audit(name):
    checked = 0
    oks = {f.line for f in findings(name) if f.level == "ok" and f.check == "hmm"}
    for line, t, j, best, text in shown_numbers(name):
        places = len(text.split(".")[1])
        assert _rounded(brute(name, t, j, best), places) == text, (name, line)
        assert line in oks, (name, line)
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("name", sorted(MODELS))
def test_audit_tables_equal_path_enumeration(name):
    from symrnn.audit.hmm_checks import table
    from symrnn.audit.model import Document, definitions
    from symrnn.audit.reading import read

    source = (DATA / name).read_text(encoding="utf-8")
    doc = Document(read(source), source)
    definitions(doc)
    assert doc.hmm.states == MODELS[name][4]
    for best in (False, True):
        values = table(doc.hmm, "max" if best else "sum")
        for t in range(1, len(MODELS[name][3]) + 1):
            for j in range(len(MODELS[name][2])):
                assert values[t - 1][j] == brute(name, t, j, best)


def test_likelihood_agrees_with_hmmlearn():
    hmm = pytest.importorskip("hmmlearn.hmm")
    np = pytest.importorskip("numpy")
    trans, emit, init, obs, _ = MODELS["rabiner-weather.md"]
    model = hmm.CategoricalHMM(n_components=2, n_features=3, init_params="", params="")
    model.startprob_ = np.array([float(x) for x in init])
    model.transmat_ = np.array([[float(x) for x in r] for r in trans])
    model.emissionprob_ = np.array([[float(x) for x in r] for r in emit])
    total = sum(brute("rabiner-weather.md", 3, j, False) for j in range(2))
    assert math.isclose(model.score(np.array(obs).reshape(-1, 1)), math.log(total), rel_tol=1e-12)


# ---- the same model in other conventions: read, and nothing flagged ---------------------------------------------

def _edit(name: str, edits: dict[int, tuple[str, str]]) -> str:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    for n, (old, new) in edits.items():
        assert old in lines[n - 1]
        lines[n - 1] = lines[n - 1].replace(old, new)
    return "\n".join(lines) + "\n"


def test_column_stochastic_convention_is_read():
    text = _edit("rabiner-weather.md", {
        11: (r"P(q_t = S_j \mid q_{t-1} = S_i)", r"P(q_t = S_i \mid q_{t-1} = S_j)"),
        15: (r"0.7 & 0.3 \\ 0.4 & 0.6", r"0.7 & 0.4 \\ 0.3 & 0.6"),
        29: ("a_{ij}", "a_{ji}"), 33: (r"A^\top", "A"), 52: ("a_{ij}", "a_{ji}"), 73: ("a_{ij}", "a_{ji}")})
    out = audit_text(text)
    assert [f for f in out if f.level == "error"] == []
    assert {39, 46, 58, 78} <= {f.line for f in out if f.level == "ok" and f.check == "hmm"}
    assert {29, 52, 73} <= {f.line for f in out if f.level == "ok" and f.check == "recurrence"}
    flipped = audit_text(text.replace(r"(A \vec{\alpha}_{t-1})", r"(A^\top \vec{\alpha}_{t-1})"))
    assert [f.line for f in flipped if f.level == "error"] == [33]


def test_transposed_table_with_its_caption_is_read():
    text = _edit("jm-icecream-tables.md", {
        8: ("one row per previous state", "one column per previous state"),
        11: ("| $q_{t-1}$ | HOT | COLD |", "| $q_t$ | HOT | COLD |"),
        13: ("| HOT | 0.6 | 0.4 |", "| HOT | 0.6 | 0.5 |"),
        14: ("| COLD | 0.5 | 0.5 |", "| COLD | 0.4 | 0.5 |")})
    out = audit_text(text)
    assert [f for f in out if f.level == "error"] == []
    assert {35, 47, 52} <= {f.line for f in out if f.level == "ok" and f.check == "hmm"}


def test_emission_matrix_of_the_wrong_size_is_a_clear_error():
    text = _edit("rabiner-weather.md", {15: (r"0.6 & 0.3 & 0.1 \end", r"0.6 & 0.3 & 0.1 \\ 0.2 & 0.2 & 0.6 \end")})
    out = audit_text(text)
    assert any(f.line == 15 and f.level == "error" and "one row per state" in f.message for f in out)


# ---- the RNN's recurrence itself (tests/data/corpus/variant-hmm-layout.md) -----------------------------------------

@pytest.mark.parametrize("wrong", ["t", "t-2", "t+1"])
def test_wrong_time_index_in_the_recurrence(wrong):
    lines = (CORPUS / "variant-hmm-layout.md").read_text(encoding="utf-8").splitlines()
    correct = lines[42].strip("$")
    lines[42] = lines[42].replace(r"\vec{h}_{t-1}", rf"\vec{{h}}_{{{wrong}}}")
    assert lines[42].strip("$") != correct
    out = audit_text("\n".join(lines) + "\n")
    errors = [f for f in out if f.level == "error"]
    assert [f.line for f in errors] == [43]
    assert errors[0].suggestion == correct
    assert {57, 58, 59, 60} <= {f.line for f in out if f.level == "ok"}


def test_rabiner_induction_step_written_at_t_plus_one():
    head = (DATA / "rabiner-weather.md").read_text(encoding="utf-8").splitlines()[:20]
    good = r"$$\alpha_{t+1}(j) = \left[\sum_{i=1}^{N} \alpha_t(i) a_{ij}\right] b_j(o_{t+1})$$"
    bad = good.replace(r"\alpha_t(i)", r"\alpha_{t+1}(i)")
    matrix = r"$$\vec{\alpha}_{t+1} = (A \vec{\alpha}_{t}) \odot (B\vec{x}_{t+1})$$"
    out = audit_text("\n".join([*head, good, "", bad, "", matrix]) + "\n")
    errors = {f.line: f for f in out if f.level == "error"}
    assert sorted(errors) == [23, 25]
    assert errors[23].suggestion == good.strip("$").replace(r"\alpha_t(i)", r"\alpha_{t}(i)")
    assert errors[25].suggestion == matrix.strip("$").replace("(A ", r"(A^\top ")


def test_a_max_in_a_worked_line_is_evaluated():
    text = _edit("jm-icecream-tables.md", {50: ("= 0.0032", "= 0.0034")})
    messages = [f.message for f in audit_text(text) if f.line == 50 and f.level == "error"]
    assert any("the arithmetic shown gives 0.0032" in m for m in messages)  # max(0.01536, 0.032) * 0.1


def brute_posterior(name: str, t: int, j: int, seq: list[int]) -> Fraction:
    """P(state_t = j | observations seq), by enumerating every state path."""
    trans, emit, init, _, _ = MODELS[name]
    total = hit = F(0)
    for path in itertools.product(range(len(init)), repeat=len(seq)):
        p = init[path[0]] * emit[path[0]][seq[0]]
        for s in range(1, len(seq)):
            p *= trans[path[s - 1]][path[s]] * emit[path[s]][seq[s]]
        total += p
        hit += p if path[t - 1] == j else 0
    return hit / total


def test_posterior_claims_agree_with_path_enumeration():
    rabiner = (DATA / "rabiner-weather.md").read_text(encoding="utf-8")
    t, j, shown = re.search(r"P\(q_(\d) = S_(\d) \\mid O, \\lambda\) = (\d\.\d+)", rabiner).groups()
    assert _rounded(brute_posterior("rabiner-weather.md", int(t), int(j) - 1, [0, 1, 2]), 3) == shown
    lecture = (DATA / "lecture-hmm-tagging.md").read_text(encoding="utf-8")
    words = ("John", "hit", "the", "ball", "saw")
    m = re.search(r"P\(Y_(\d) = \\text\{(\w+)\} \| (.*)\) \\approx (\d\.\d+)", lecture)
    seq = [words.index(w) for w in re.findall(r"\\text\{(\w+)\}", m.group(3))]
    value = brute_posterior("lecture-hmm-tagging.md", int(m.group(1)), MODELS["lecture-hmm-tagging.md"][4].index(
        m.group(2)), seq)
    assert _rounded(value, 2) == m.group(4)
    for name in ("rabiner-weather.md", "lecture-hmm-tagging.md"):
        assert any(f.check == "claim" and f.level == "ok" and "forward-backward" in f.message for f in findings(name))


def test_an_initial_distribution_of_the_wrong_size_stops_the_numbers_with_a_warning():
    text = _edit("rabiner-weather.md", {15: (r"0.6 \\ 0.4 \end", r"0.5 \\ 0.3 \\ 0.2 \end")})
    out = audit_text(text)
    assert any(f.line == 15 and f.level == "error" and "one entry per state" in f.message for f in out)
    assert [f.line for f in out if f.level == "error"] == [15]
    assert {f.line for f in out if f.level == "warning"} >= {37, 39, 46}


def test_matrices_named_a_and_b_alone_are_not_an_hmm():
    text = ("An Elman network with\n\n$$A = \\begin{bmatrix} 0.5 & 0.1 \\\\ 0.2 & 0.3 \\end{bmatrix}, \\qquad "
            "B = \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$$\n\n$$\\vec{h}_t = \\tanh(A\\vec{h}_{t-1} + "
            "B\\vec{x}_t)$$\n")
    out = audit_text(text)
    assert [f for f in out if f.level == "error" or f.check in ("distribution", "hmm")] == []
    with_words = audit_text("A hidden Markov model.\n\n" + text)
    assert any(f.check == "distribution" and f.level == "error" for f in with_words)  # rows sum to 0.6 and 0.5


def test_the_issue_s_four_planted_errors_in_the_lecture_layout_variant():
    clean = (CORPUS / "variant-hmm-layout.md").read_text(encoding="utf-8").splitlines()
    lines = list(clean)
    lines[42] = lines[42].replace(r"\vec{h}_{t-1}", r"\vec{h}_{t}")
    lines[52] = lines[52].replace(r"\vec{x}_2 = \begin{bmatrix} 0\\1\\0\\0", r"\vec{x}_2 = \begin{bmatrix} 0\\1\\0")
    lines[57] = lines[57].replace(r"0.20\\0.60\\0.20", r"0.20\\0.66\\0.20")
    lines[58] = lines[58].replace(r"0.18\\0.18\\0.63", r"0.18\\0.18\\0.36")
    assert sum(a != b for a, b in zip(clean, lines, strict=True)) == 4
    errors = {f.line: f for f in audit_text("\n".join(lines) + "\n") if f.level == "error"}
    assert sorted(errors) == [43, 53, 58, 59]
    for line in (43, 58, 59):
        assert _normal(errors[line].suggestion) == _normal(clean[line - 1].strip("$"))
