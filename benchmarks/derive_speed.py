"""Time the generated BPTT of cells read from LaTeX against hand-written NumPy and torch autograd (float64, 1 thread).

Run from the repository root (symrnn installed, or on PYTHONPATH):

    python benchmarks/derive_speed.py [--quick] [--rounds 7] [--cells elman,gru,lstm] [--states 256] [--batch 32]
                                      [--length 100] [--inputs N]

For an Elman cell, a GRU and an LSTM, each read from LaTeX with :func:`symrnn.read_cell` (torch's forms, so that
``torch.nn.RNN``/``GRU``/``LSTM`` compute the same function), the loss (squared error summed over t and the batch)
and every parameter gradient are computed four ways, in the same run:

- ``compiled``: :func:`symrnn.autodiff.training.compile_bptt`'s ``loss_and_grads``;
- ``standalone``: the module ``symrnn derive`` writes (:mod:`symrnn.derive.standalone`), loaded from its text;
- ``hand``: a straightforward NumPy BPTT written below, one matrix product per parameter per step;
- ``torch``: autograd through ``torch.nn.RNN``/``GRU``/``LSTM``;
- ``tuned``: NumPy BPTT tuned by hand for each cell (gates stacked into one product per step each way, products
  hoisted, elementwise work in place): not a target but a bound, what NumPy code reaches with NumPy's BLAS, by
  which to read generated / torch (torch links its own BLAS; the step's product is timed with both).

All four are checked to agree (printed) before timing; then they run interleaved, round after round, and the best
time of each is reported (other load on the machine only ever adds time), with the ratios generated / hand and
generated / torch.  BLAS and torch use one thread: the variables are set before NumPy is imported.
``--quick``: N = 32, B = 8, T = 20, 3 rounds.

Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from timing import best_seconds  # noqa: E402  (benchmarks/timing.py, beside this script)

ELMAN = r"""
$$\vec{h}_t = \tanh(U\vec{h}_{t-1} + W\vec{x}_t + \vec{b})$$
"""

GRU = r"""
$$\mathbf{r}_t = \sigma(\mathbf{W}_{ir}\mathbf{x}_t + \mathbf{b}_{ir}
    + \mathbf{W}_{hr}\mathbf{h}_{t-1} + \mathbf{b}_{hr})$$
$$\mathbf{z}_t = \sigma(\mathbf{W}_{iz}\mathbf{x}_t + \mathbf{b}_{iz}
    + \mathbf{W}_{hz}\mathbf{h}_{t-1} + \mathbf{b}_{hz})$$
$$\mathbf{n}_t = \tanh(\mathbf{W}_{in}\mathbf{x}_t + \mathbf{b}_{in}
    + \mathbf{r}_t \odot (\mathbf{W}_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}))$$
$$\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}$$
"""

LSTM = r"""
\begin{align}
\mathbf{i}_t &= \sigma(\mathbf{W}_{ii}\mathbf{x}_t + \mathbf{b}_{ii}
    + \mathbf{W}_{hi}\mathbf{h}_{t-1} + \mathbf{b}_{hi}) \\
\mathbf{f}_t &= \sigma(\mathbf{W}_{if}\mathbf{x}_t + \mathbf{b}_{if}
    + \mathbf{W}_{hf}\mathbf{h}_{t-1} + \mathbf{b}_{hf}) \\
\mathbf{g}_t &= \tanh(\mathbf{W}_{ig}\mathbf{x}_t + \mathbf{b}_{ig}
    + \mathbf{W}_{hg}\mathbf{h}_{t-1} + \mathbf{b}_{hg}) \\
\mathbf{o}_t &= \sigma(\mathbf{W}_{io}\mathbf{x}_t + \mathbf{b}_{io}
    + \mathbf{W}_{ho}\mathbf{h}_{t-1} + \mathbf{b}_{ho}) \\
\mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t \\
\mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t)
\end{align}
"""

TEXTS = {"elman": ELMAN, "gru": GRU, "lstm": LSTM}
GATES = {"elman": ("",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}  # torch's row order


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# ---- hand-written NumPy BPTT: one product per parameter per step ---------------------------------------------------


def hand_elman(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    U, W, b = p["U"], p["W"], p["b"]  # noqa: N806
    T, _, B = xs.shape  # noqa: N806
    hs = [np.zeros((U.shape[0], B))]
    for t in range(T):
        hs.append(np.tanh(U @ hs[-1] + W @ xs[t] + b))
    loss = sum(0.5 * ((hs[t + 1] - ys[t]) ** 2).sum() for t in range(T))
    g = {k: np.zeros_like(v) for k, v in p.items()}
    rho = np.zeros_like(hs[0])
    for t in range(T - 1, -1, -1):
        d = (hs[t + 1] - ys[t] + rho) * (1.0 - hs[t + 1] ** 2)
        g["U"] += d @ hs[t].T
        g["W"] += d @ xs[t].T
        g["b"] += d.sum(axis=1, keepdims=True)
        rho = U.T @ d
    return loss, g


def hand_gru(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    T, _, B = xs.shape  # noqa: N806
    hs, cache = [np.zeros((p["W_hr"].shape[0], B))], []
    for t in range(T):
        h, x = hs[-1], xs[t]
        r = _sigmoid(p["W_ir"] @ x + p["b_ir"] + p["W_hr"] @ h + p["b_hr"])
        z = _sigmoid(p["W_iz"] @ x + p["b_iz"] + p["W_hz"] @ h + p["b_hz"])
        a = p["W_hn"] @ h + p["b_hn"]
        n = np.tanh(p["W_in"] @ x + p["b_in"] + r * a)
        hs.append((1.0 - z) * n + z * h)
        cache.append((r, z, a, n))
    loss = sum(0.5 * ((hs[t + 1] - ys[t]) ** 2).sum() for t in range(T))
    g = {k: np.zeros_like(v) for k, v in p.items()}
    rho = np.zeros_like(hs[0])
    for t in range(T - 1, -1, -1):
        h, x, (r, z, a, n) = hs[t], xs[t], cache[t]
        dh = hs[t + 1] - ys[t] + rho
        dn = dh * (1.0 - z) * (1.0 - n**2)
        dz = dh * (h - n) * z * (1.0 - z)
        da = dn * r
        dr = dn * a * r * (1.0 - r)
        for gate, d in (("r", dr), ("z", dz)):
            g[f"W_i{gate}"] += d @ x.T
            g[f"W_h{gate}"] += d @ h.T
            g[f"b_i{gate}"] += d.sum(axis=1, keepdims=True)
            g[f"b_h{gate}"] += d.sum(axis=1, keepdims=True)
        g["W_in"] += dn @ x.T
        g["b_in"] += dn.sum(axis=1, keepdims=True)
        g["W_hn"] += da @ h.T
        g["b_hn"] += da.sum(axis=1, keepdims=True)
        rho = dh * z + p["W_hr"].T @ dr + p["W_hz"].T @ dz + p["W_hn"].T @ da
    return loss, g


def hand_lstm(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    T, _, B = xs.shape  # noqa: N806
    zero = np.zeros((p["W_hi"].shape[0], B))
    hs, cs, cache = [zero], [zero], []
    for t in range(T):
        h, x = hs[-1], xs[t]
        i, f, o = (_sigmoid(p[f"W_i{k}"] @ x + p[f"b_i{k}"] + p[f"W_h{k}"] @ h + p[f"b_h{k}"]) for k in "ifo")
        gg = np.tanh(p["W_ig"] @ x + p["b_ig"] + p["W_hg"] @ h + p["b_hg"])
        cs.append(f * cs[-1] + i * gg)
        tc = np.tanh(cs[-1])
        hs.append(o * tc)
        cache.append((i, f, gg, o, tc))
    loss = sum(0.5 * ((hs[t + 1] - ys[t]) ** 2).sum() for t in range(T))
    g = {k: np.zeros_like(v) for k, v in p.items()}
    rho_h, rho_c = np.zeros_like(zero), np.zeros_like(zero)
    for t in range(T - 1, -1, -1):
        h, x, (i, f, gg, o, tc) = hs[t], xs[t], cache[t]
        dh = hs[t + 1] - ys[t] + rho_h
        dc = rho_c + dh * o * (1.0 - tc**2)
        pre = {"i": dc * gg * i * (1.0 - i), "f": dc * cs[t] * f * (1.0 - f), "g": dc * i * (1.0 - gg**2),
               "o": dh * tc * o * (1.0 - o)}
        rho_h = np.zeros_like(zero)
        for k, d in pre.items():
            g[f"W_i{k}"] += d @ x.T
            g[f"W_h{k}"] += d @ h.T
            g[f"b_i{k}"] += d.sum(axis=1, keepdims=True)
            g[f"b_h{k}"] += d.sum(axis=1, keepdims=True)
            rho_h += p[f"W_h{k}"].T @ d
        rho_c = dc * f
    return loss, g


HAND = {"elman": hand_elman, "gru": hand_gru, "lstm": hand_lstm}


# ---- tuned NumPy BPTT: what careful hand work reaches with the same BLAS --------------------------------------------
# The gates' matrices stacked (one product per step forward and one backward), the input products and the gradient
# products hoisted out of the loop, elementwise work in place where it can be, the loss by a dot product.  Not what
# symrnn generates: the bound that NumPy code on this machine's BLAS reaches, to read the ratio against torch by.


def _folded(xs: np.ndarray) -> np.ndarray:
    steps, rows, batch = xs.shape
    return xs.transpose(1, 0, 2).reshape(rows, steps * batch)


def _steps_side_by_side(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack(arrays, axis=1).reshape(arrays[0].shape[0], -1)


def _sigmoid_in_place(a: np.ndarray) -> None:
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5


def tuned_elman(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    U, W, b = p["U"], p["W"], p["b"]  # noqa: N806
    T, _, B = xs.shape  # noqa: N806
    n = U.shape[0]
    x = _folded(xs)
    pre = (W @ x).reshape(n, T, B)
    hs = [np.zeros((n, B))]
    for t in range(T):
        a = U @ hs[-1]
        a += pre[:, t]
        a += b
        np.tanh(a, out=a)
        hs.append(a)
    loss, rho, deltas = 0.0, np.zeros((n, B)), np.empty((n, T, B))
    for t in range(T - 1, -1, -1):
        h, d = hs[t + 1], deltas[:, t]
        e = h - ys[t]
        loss += 0.5 * float(np.vdot(e, e))
        e += rho
        np.multiply(h, h, out=d)
        np.subtract(1.0, d, out=d)
        d *= e
        rho = U.T @ d
    delta = deltas.reshape(n, T * B)
    return loss, {"U": delta @ _steps_side_by_side(hs[:-1]).T, "W": delta @ x.T,
                  "b": delta.sum(axis=1, keepdims=True)}


def tuned_gru(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    T, _, B = xs.shape  # noqa: N806
    n = p["W_hr"].shape[0]
    wh = np.vstack([p["W_hr"], p["W_hz"], p["W_hn"]])
    wx = np.vstack([p["W_ir"], p["W_iz"], p["W_in"]])
    bias = np.vstack([p["b_ir"] + p["b_hr"], p["b_iz"] + p["b_hz"], p["b_in"]])
    x = _folded(xs)
    pre = wx @ x
    pre += bias
    pre = pre.reshape(3 * n, T, B)
    hs, acts, news = [np.zeros((n, B))], [], []
    for t in range(T):
        h = hs[-1]
        a = wh @ h
        a[:2 * n] += pre[:2 * n, t]
        _sigmoid_in_place(a[:2 * n])
        a[2 * n:] += p["b_hn"]
        r, z, hn = a[:n], a[n:2 * n], a[2 * n:]
        new = r * hn
        new += pre[2 * n:, t]
        np.tanh(new, out=new)
        out = h - new
        out *= z
        out += new
        hs.append(out)
        acts.append(a)
        news.append(new)
    loss, rho = 0.0, np.zeros((n, B))
    dh_all, dx_all = np.empty((3 * n, T, B)), np.empty((3 * n, T, B))
    for t in range(T - 1, -1, -1):
        a, new, h = acts[t], news[t], hs[t]
        r, z, hn = a[:n], a[n:2 * n], a[2 * n:]
        e = hs[t + 1] - ys[t]
        loss += 0.5 * float(np.vdot(e, e))
        e += rho
        dn = dx_all[2 * n:, t]
        np.multiply(new, new, out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= e
        dn *= 1.0 - z
        dz = dh_all[n:2 * n, t]
        np.subtract(h, new, out=dz)
        dz *= e
        dz *= z
        dz *= 1.0 - z
        dr = dh_all[:n, t]
        np.multiply(dn, hn, out=dr)
        dr *= r
        dr *= 1.0 - r
        np.multiply(dn, r, out=dh_all[2 * n:, t])
        dx_all[:2 * n, t] = dh_all[:2 * n, t]
        rho = wh.T @ dh_all[:, t]
        rho += e * z
    d_h, d_x = dh_all.reshape(3 * n, T * B), dx_all.reshape(3 * n, T * B)
    g_h, g_x = d_h @ _steps_side_by_side(hs[:-1]).T, d_x @ x.T
    b_h, b_x = d_h.sum(axis=1, keepdims=True), d_x.sum(axis=1, keepdims=True)
    grads = {}
    for k, gate in enumerate("rzn"):
        rows = slice(k * n, (k + 1) * n)
        grads[f"W_h{gate}"], grads[f"W_i{gate}"] = g_h[rows], g_x[rows]
        grads[f"b_h{gate}"], grads[f"b_i{gate}"] = b_h[rows], b_x[rows]
    return loss, grads


def tuned_lstm(p: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    T, _, B = xs.shape  # noqa: N806
    n, order = p["W_hi"].shape[0], "ifog"  # the three sigmoid gates first, then the tanh candidate
    wh = np.vstack([p[f"W_h{k}"] for k in order])
    wx = np.vstack([p[f"W_i{k}"] for k in order])
    bias = np.vstack([p[f"b_i{k}"] + p[f"b_h{k}"] for k in order])
    x = _folded(xs)
    pre = wx @ x
    pre += bias
    pre = pre.reshape(4 * n, T, B)
    hs, cs, acts, tcs = [np.zeros((n, B))], [np.zeros((n, B))], [], []
    for t in range(T):
        a = wh @ hs[-1]
        a += pre[:, t]
        _sigmoid_in_place(a[:3 * n])
        np.tanh(a[3 * n:], out=a[3 * n:])
        i, f, o, g = a[:n], a[n:2 * n], a[2 * n:3 * n], a[3 * n:]
        c = f * cs[-1]
        c += i * g
        tc = np.tanh(c)
        hs.append(o * tc)
        cs.append(c)
        acts.append(a)
        tcs.append(tc)
    loss, rho_h, rho_c, deltas = 0.0, np.zeros((n, B)), np.zeros((n, B)), np.empty((4 * n, T, B))
    for t in range(T - 1, -1, -1):
        a, tc = acts[t], tcs[t]
        i, f, o, g = a[:n], a[n:2 * n], a[2 * n:3 * n], a[3 * n:]
        e = hs[t + 1] - ys[t]
        loss += 0.5 * float(np.vdot(e, e))
        e += rho_h
        dc = tc * tc
        np.subtract(1.0, dc, out=dc)
        dc *= o
        dc *= e
        dc += rho_c
        d = deltas[:, t]
        np.multiply(dc, g, out=d[:n])
        np.multiply(dc, cs[t], out=d[n:2 * n])
        np.multiply(e, tc, out=d[2 * n:3 * n])
        s = 1.0 - a[:3 * n]
        s *= a[:3 * n]
        d[:3 * n] *= s
        dg = d[3 * n:]
        np.multiply(g, g, out=dg)
        np.subtract(1.0, dg, out=dg)
        dg *= i
        dg *= dc
        rho_h = wh.T @ d
        rho_c = dc * f
    delta = deltas.reshape(4 * n, T * B)
    g_h, g_x, b = delta @ _steps_side_by_side(hs[:-1]).T, delta @ x.T, delta.sum(axis=1, keepdims=True)
    grads = {}
    for k, gate in enumerate(order):
        rows = slice(k * n, (k + 1) * n)
        grads[f"W_h{gate}"], grads[f"W_i{gate}"], grads[f"b_h{gate}"], grads[f"b_i{gate}"] = \
            g_h[rows], g_x[rows], b[rows], b[rows]
    return loss, grads


TUNED = {"elman": tuned_elman, "gru": tuned_gru, "lstm": tuned_lstm}


# ---- the matrix products alone: how close to the hand loop any arrangement of them can come ------------------------


def products_runners(gates: int, n: int, d: int, b: int, steps: int):
    """Two functions doing only the matrix products of a BPTT with ``gates`` gates (one recurrent and one input
    matrix each), with nothing elementwise: as the generated code arranges them (per step, ``W_h h`` forward and
    ``W_h^T delta`` backward; hoisted, ``W_x X``, ``Delta H^T`` and ``Delta X^T``) and as the hand loop does (all five
    per step).  Their times bound from below what arranging the products can give: the generated code can be no
    faster than its products alone, whatever its elementwise work costs."""
    rng = np.random.default_rng(1)
    wh, wx = rng.normal(size=(gates, n, n)), rng.normal(size=(gates, n, d))
    h, x, delta = rng.normal(size=(n, b)), rng.normal(size=(d, b)), rng.normal(size=(n, b))
    big_h, big_x, big_delta = rng.normal(size=(n, steps * b)), rng.normal(size=(d, steps * b)), \
        rng.normal(size=(n, steps * b))

    def generated() -> None:
        for k in range(gates):
            wx[k] @ big_x
            big_delta @ big_h.T
            big_delta @ big_x.T
        for _ in range(steps):
            for k in range(gates):
                wh[k] @ h
                wh[k].T @ delta

    def hand() -> None:
        for _ in range(steps):
            for k in range(gates):
                wh[k] @ h
                wx[k] @ x
                wh[k].T @ delta
                delta @ h.T
                delta @ x.T
    return generated, hand


def blas_runners(n: int, b: int, repeat: int = 100):
    """Two functions doing ``repeat`` times the step's product ``(n x n)(n x b)``: with NumPy's BLAS and with torch's
    (each library links its own: OpenBLAS in NumPy's wheels, MKL in torch's x86 builds).  Their ratio is how much of
    generated / torch is the libraries', not the code's."""
    import torch

    rng = np.random.default_rng(2)
    w, h = rng.normal(size=(n, n)), rng.normal(size=(n, b))
    tw, th = torch.from_numpy(w), torch.from_numpy(h)

    def numpy_products() -> None:
        for _ in range(repeat):
            w @ h

    def torch_products() -> None:
        with torch.no_grad():
            for _ in range(repeat):
                tw @ th
    return numpy_products, torch_products


# ---- torch autograd through torch.nn.RNN / GRU / LSTM ---------------------------------------------------------------


def torch_runner(kind: str, params: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray):
    """A function running torch's forward and backward; and one mapping its gradients to our names."""
    import torch

    n, d = params["W_hr" if kind == "gru" else "W_hi" if kind == "lstm" else "U"].shape[0], xs.shape[1]
    module = {"elman": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](d, n).double()
    names = {side: [f"W_{side[0]}{g}" for g in GATES[kind]] for side in ("ih", "hh")}
    biases = {side: [f"b_{side[0]}{g}" for g in GATES[kind]] for side in ("ih", "hh")}
    if kind == "elman":
        names, biases = {"ih": ["W"], "hh": ["U"]}, {"ih": ["b"], "hh": [None]}
    with torch.no_grad():
        for side in ("ih", "hh"):
            getattr(module, f"weight_{side}_l0").copy_(torch.tensor(np.vstack([params[k] for k in names[side]])))
            bias = [params[k][:, 0] if k else np.zeros(n) for k in biases[side]]
            getattr(module, f"bias_{side}_l0").copy_(torch.tensor(np.concatenate(bias)))
    x = torch.tensor(np.ascontiguousarray(xs.transpose(0, 2, 1)))  # torch: (T, B, D)
    y = torch.tensor(np.ascontiguousarray(ys.transpose(0, 2, 1)))

    def run() -> float:
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        loss = 0.5 * ((out - y) ** 2).sum()
        loss.backward()
        return loss.item()

    def grads() -> dict[str, np.ndarray]:
        out = {}
        for side in ("ih", "hh"):
            w, b = getattr(module, f"weight_{side}_l0").grad.numpy(), getattr(module, f"bias_{side}_l0").grad.numpy()
            for k, (wn, bn) in enumerate(zip(names[side], biases[side], strict=True)):
                out[wn] = w[k * n:(k + 1) * n]
                if bn:
                    out[bn] = b[k * n:(k + 1) * n, None]
        return out
    return run, grads


# ---- timing ----------------------------------------------------------------------------------------------------------


def _max_error(grads: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> float:
    assert set(grads) == set(want), (sorted(grads), sorted(want))
    return max(float(np.abs(grads[k] - want[k]).max() / max(1.0, np.abs(want[k]).max())) for k in want)


def bench(kind: str, n: int, d: int, b: int, steps: int, rounds: int) -> dict[str, float]:
    import torch

    from symrnn import read_cell
    from symrnn.autodiff.training import compile_bptt
    from symrnn.derive import standalone
    from symrnn.derive.checks import Spec
    from symrnn.models import losses

    cell = read_cell(TEXTS[kind], name=kind, n_state=n, n_input=d)
    rng = np.random.default_rng(0)
    params = {q.name: rng.uniform(-1, 1, size=(q.rows, q.cols)) / np.sqrt(n) for q in cell.params}
    xs, ys = rng.normal(size=(steps, d, b)), rng.normal(scale=0.5, size=(steps, n, b))
    compiled = compile_bptt(cell, losses.squared_error())
    made = standalone.build(Spec(TEXTS[kind], kind, "squared", n, d))
    module = standalone.load(made.source, kind)
    torch.set_num_threads(1)
    run_torch, torch_grads = torch_runner(kind, params, xs, ys)
    fns = {"compiled": lambda: compiled.loss_and_grads(params, xs, ys),
           "standalone": lambda: module.loss_and_grads(params, xs, ys),
           "hand": lambda: HAND[kind](params, xs, ys),
           "tuned": lambda: TUNED[kind](params, xs, ys),
           "torch": run_torch}
    fns["products: generated"], fns["products: hand"] = products_runners(len(GATES[kind]), n, d, b, steps)
    fns["BLAS: numpy"], fns["BLAS: torch"] = blas_runners(n, b)
    want_loss, want = HAND[kind](params, xs, ys)
    torch_loss = run_torch()
    results = {"compiled": fns["compiled"](), "standalone": fns["standalone"](), "tuned": fns["tuned"](),
               "torch": (torch_loss, torch_grads())}
    for name, (loss, grads) in results.items():
        err = max(_max_error(grads, want), abs(loss - want_loss) / max(1.0, abs(want_loss)))
        print(f"  {name:>10} vs hand: max relative difference {err:.1e} ({'agree' if err < 1e-9 else 'DISAGREE'})")
        assert err < 1e-9, (kind, name, err)
    return {name: best for name, (best, _median) in best_seconds(fns, rounds).items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: N=32, B=8, T=20, 3 rounds")
    parser.add_argument("--states", type=int, default=256)
    parser.add_argument("--inputs", type=int, default=None, help="D (default: N)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cells", default="elman,gru,lstm")
    args = parser.parse_args(argv)
    if args.quick:
        args.states, args.batch, args.length, args.rounds = 32, 8, 20, 3
    n, b, steps = args.states, args.batch, args.length
    d = args.inputs or n
    print(f"N={n}, D={d}, B={b}, T={steps}, float64, one thread; best of {args.rounds} rounds")
    rows = []
    for kind in args.cells.split(","):
        print(f"{kind}:")
        best = bench(kind, n, d, b, steps, args.rounds)
        rows.append((kind, best))
    print("\nThe matrix products alone (nothing elementwise), arranged as the generated code and as the hand loop do:"
          " the least generated/hand any arrangement of the products reaches is products(generated) / hand.")
    for kind, s in rows:
        pg, ph = s["products: generated"], s["products: hand"]
        print(f"  {kind:<6} products: generated {1e3 * pg:6.1f}ms, hand {1e3 * ph:6.1f}ms;  products(generated) / hand"
              f" = {pg / s['hand']:.2f};  compiled / hand = {s['compiled'] / s['hand']:.2f}")
    print("\nTuned NumPy (hand work: stacked gates, in place, hoisted products; the BLAS's bound for NumPy code) and"
          " the step's product with each library's BLAS:")
    for kind, s in rows:
        print(f"  {kind:<6} tuned {1e3 * s['tuned']:6.1f}ms;  "
              f"standalone / tuned = {s['standalone'] / s['tuned']:.2f};  "
              f"tuned / torch = {s['tuned'] / s['torch']:.2f};  tuned / hand = {s['tuned'] / s['hand']:.2f};  "
              f"BLAS step product numpy / torch = {s['BLAS: numpy'] / s['BLAS: torch']:.2f}")
    print(f"\n{'cell':<6} {'compiled':>9} {'standalone':>10} {'hand':>9} {'torch':>9}   "
          f"{'comp/hand':>9} {'stand/hand':>10} {'comp/torch':>10} {'stand/torch':>11}")
    for kind, s in rows:
        ms = {k: 1e3 * v for k, v in s.items()}
        print(f"{kind:<6} {ms['compiled']:8.1f}ms {ms['standalone']:8.1f}ms {ms['hand']:7.1f}ms {ms['torch']:7.1f}ms"
              f"   {s['compiled'] / s['hand']:9.2f} {s['standalone'] / s['hand']:10.2f}"
              f" {s['compiled'] / s['torch']:10.2f} {s['standalone'] / s['torch']:11.2f}")


if __name__ == "__main__":
    main()
