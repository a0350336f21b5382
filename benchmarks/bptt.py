"""Time symrnn's generated BPTT against a hand-written NumPy BPTT and PyTorch autograd (float64, CPU).

Run from the repository root (symrnn installed, or on PYTHONPATH):

    PYTHONPATH=. python benchmarks/bptt.py [--states 256] [--batch 32] [--length 100] [--inputs 64] [--rounds 15]
                                           [--threads 1] [--skip-exact]

(a) Loss and all parameter gradients for the Elman cell (tanh) under squared error and for the lecture's RNN
    (softmax(U h + W x - 1)) under cross-entropy: wall time of the generated code, of the hand-written NumPy
    BPTT below, and of torch autograd, with ratios.  All three are checked to agree before timing.  The three run
    interleaved, round after round, and the best time of each is reported (the machine's other load only ever
    adds time); BLAS and torch use ``--threads`` threads.
(b) Time to derive and verify BPTT at the exact level, ``symrnn.autodiff.bptt.exact_check`` (a 50-digit
    directional derivative against the derived recursion, with mpmath), at N = 16 for T = 8, 16, 32, 64, and the
    fitted exponent of time against T.

Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from timing import best_seconds  # benchmarks/timing.py, beside this script

from symrnn.autodiff import bptt
from symrnn.autodiff.training import compile_bptt
from symrnn.models import cells, losses

# ---- hand-written NumPy BPTT ---------------------------------------------------------------------------------------


def hand_elman(U, W, b, xs, ys, h0):  # noqa: N803
    """tanh(U h + W x + b), loss (1/2) sum (h - y)^2 over t and batch: (loss, dU, dW, db)."""
    hs = [h0]
    loss = 0.0
    for t in range(len(xs)):
        h = np.tanh(U @ hs[-1] + W @ xs[t] + b)
        hs.append(h)
        loss += 0.5 * float(((h - ys[t]) ** 2).sum())
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)  # noqa: N806
    rho = np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        h = hs[t + 1]
        dz = (h - ys[t] + rho) * (1 - h * h)
        dU += dz @ hs[t].T
        dW += dz @ xs[t].T
        db += dz.sum(axis=1, keepdims=True)
        rho = U.T @ dz
    return loss, {"U": dU, "W": dW, "b": db}


def hand_lecture(U, W, xs, classes, h0):  # noqa: N803
    """softmax(U h + W x - 1), loss -sum ln h[class] over t and batch: (loss, dU, dW)."""
    cols = np.arange(classes.shape[1])
    hs = [h0]
    loss = 0.0
    for t in range(len(xs)):
        a = U @ hs[-1] + W @ xs[t] - 1.0
        a -= a.max(axis=0, keepdims=True)
        e = np.exp(a)
        s = e.sum(axis=0, keepdims=True)
        hs.append(e / s)
        loss -= float((a[classes[t], cols] - np.log(s[0])).sum())
    dU, dW = np.zeros_like(U), np.zeros_like(W)  # noqa: N806
    rho = np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        h = hs[t + 1]
        g = h * rho
        dz = g - h * g.sum(axis=0, keepdims=True) + h  # softmax Jacobian applied to rho, plus h - y
        dz[classes[t], cols] -= 1.0
        dU += dz @ hs[t].T
        dW += dz @ xs[t].T
        rho = U.T @ dz
    return loss, {"U": dU, "W": dW}


# ---- torch autograd ------------------------------------------------------------------------------------------------


def torch_elman(torch, params, xs, ys, h0):
    """torch.nn.RNN(tanh) in float64 with b split as bias_ih = b, bias_hh = 0."""
    N, D = params["W"].shape  # noqa: N806
    rnn = torch.nn.RNN(D, N, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["U"]))
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["W"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b"][:, 0]))
        rnn.bias_hh_l0.zero_()
    x = torch.from_numpy(np.ascontiguousarray(xs.transpose(0, 2, 1)))  # (T, B, D)
    y = torch.from_numpy(np.ascontiguousarray(ys.transpose(0, 2, 1)))
    h = torch.from_numpy(np.ascontiguousarray(h0.T))[None]

    def run():
        rnn.zero_grad()
        out, _ = rnn(x, h)
        loss = 0.5 * ((out - y) ** 2).sum()
        loss.backward()
        return loss.item(), {"U": rnn.weight_hh_l0.grad.numpy(), "W": rnn.weight_ih_l0.grad.numpy(),
                             "b": rnn.bias_ih_l0.grad.numpy()[:, None]}
    return run


def torch_lecture(torch, params, xs, classes, h0):
    """The lecture's RNN written with torch ops (column vectors, batch in columns), autograd for the gradients."""
    U = torch.from_numpy(params["U"].copy()).requires_grad_()  # noqa: N806
    W = torch.from_numpy(params["W"].copy()).requires_grad_()  # noqa: N806
    x = torch.from_numpy(xs)
    c = torch.from_numpy(classes)
    cols = torch.arange(classes.shape[1])
    h_start = torch.from_numpy(h0)

    def run():
        U.grad = W.grad = None
        h, loss = h_start, 0.0
        for t in range(x.shape[0]):
            logp = torch.log_softmax(U @ h + W @ x[t] - 1.0, dim=0)
            loss = loss - logp[c[t], cols].sum()
            h = logp.exp()
        loss.backward()
        return loss.item(), {"U": U.grad.numpy(), "W": W.grad.numpy()}
    return run


def _limit_threads(threads: int) -> bool:
    """Limit NumPy's BLAS to ``threads`` threads for the rest of the run; False if threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=threads)  # stays in force: the return value only matters as a context manager
    return True


# ---- (a) -----------------------------------------------------------------------------------------------------------


def agree(reference: tuple[float, dict], other: tuple[float, dict], what: str) -> None:
    loss, grads = reference
    assert abs(other[0] - loss) <= 1e-9 * abs(loss), f"{what}: loss {other[0]} != {loss}"
    for name, g in grads.items():
        err = np.abs(other[1][name] - g).max() / np.abs(g).max()
        assert err <= 1e-9, f"{what}: gradient of {name} differs by {err:.2e} (relative)"


def part_a(args) -> None:
    N, B, T, D = args.states, args.batch, args.length, args.inputs  # noqa: N806
    rng = np.random.default_rng(args.seed)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    print(f"(a) loss and gradients, float64, N={N}, batch={B}, T={T}, D={D}; best (median) of {args.rounds} "
          f"interleaved rounds")
    print(f"    numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; {args.threads} "
          f"BLAS/torch thread(s){'' if _limit_threads(args.threads) else ' requested (threadpoolctl missing)'}; "
          f"{os.cpu_count()} CPUs")
    h0 = np.zeros((N, B))

    # Elman / tanh, squared error
    params = {"U": rng.normal(scale=1 / np.sqrt(N), size=(N, N)), "W": rng.normal(scale=1 / np.sqrt(D), size=(N, D)),
              "b": rng.normal(scale=0.1, size=(N, 1))}
    xs = rng.normal(size=(T, D, B))
    ys = rng.uniform(-1, 1, size=(T, N, B))
    start = time.perf_counter()
    compiled = compile_bptt(cells.elman(N, D), losses.squared_error())
    compile_time = time.perf_counter() - start
    rows = [("Elman tanh + squared error", compile_time,
             lambda: compiled.loss_and_grads(params, xs, ys, h0),
             lambda: hand_elman(params["U"], params["W"], params["b"], xs, ys, h0),
             torch_elman(torch, params, xs, ys, h0) if torch else None)]

    # the lecture's RNN, softmax(U h + W x - 1), cross-entropy on one-hot inputs
    lecture = {"U": rng.normal(size=(N, N)), "W": rng.normal(size=(N, D))}
    words = rng.integers(0, D, size=(T, B))
    one_hot = np.zeros((T, D, B))
    one_hot[np.arange(T)[:, None], words, np.arange(B)[None, :]] = 1.0
    classes = rng.integers(0, N, size=(T, B))
    start = time.perf_counter()
    compiled_rnn = compile_bptt(cells.rnn(N, D), losses.cross_entropy())
    compile_time = time.perf_counter() - start
    rows.append(("lecture RNN softmax + cross-entropy", compile_time,
                 lambda: compiled_rnn.loss_and_grads(lecture, one_hot, classes, h0),
                 lambda: hand_lecture(lecture["U"], lecture["W"], one_hot, classes, h0),
                 torch_lecture(torch, lecture, one_hot, classes, h0) if torch else None))

    print(f"    {'problem':36s} {'compile':>7s} {'generated':>16s} {'hand NumPy':>16s} {'torch':>16s} "
          f"{'gen/hand':>8s} {'gen/torch':>9s}")
    for name, compile_time, generated, hand, peer in rows:
        reference = hand()
        agree(reference, generated(), f"{name}: generated vs hand NumPy")
        fns = {"generated": generated, "hand": hand}
        if peer:
            agree(reference, peer(), f"{name}: torch vs hand NumPy")
            fns["torch"] = peer
        t = best_seconds(fns, args.rounds)
        t.setdefault("torch", (float("nan"), float("nan")))
        cell = {k: f"{v[0] * 1e3:6.1f} ({v[1] * 1e3:5.1f})ms" for k, v in t.items()}
        print(f"    {name:36s} {compile_time:6.2f}s {cell['generated']:>16s} {cell['hand']:>16s} "
              f"{cell['torch']:>16s} {t['generated'][0] / t['hand'][0]:7.2f}x "
              f"{t['generated'][0] / t['torch'][0]:8.2f}x")


# ---- (b) -----------------------------------------------------------------------------------------------------------


def part_b(args) -> None:
    n, lengths = 16, (8, 16, 32, 64)
    print(f"(b) derive and verify at the exact level, exact_check(cell, loss, T, seed={args.seed}) with N={n}, D={n}")
    for label, cell, loss in (("lecture RNN + cross-entropy", cells.rnn(n, n), losses.cross_entropy()),
                              ("Elman tanh + squared error", cells.elman(n, n), losses.squared_error())):
        times = []
        for T in lengths:  # noqa: N806
            start = time.perf_counter()
            outcome = bptt.exact_check(cell, loss, T, seed=args.seed)
            times.append(time.perf_counter() - start)
            print(f"    {label:30s} T={T:3d}: {times[-1]:8.2f}s  {_describe(outcome)}")
        slope = np.polyfit(np.log(lengths), np.log(times), 1)[0]
        print(f"    {label:30s} time ~ T^{slope:.2f}")


def _describe(outcome: tuple[bool, float, str]) -> str:
    return f"passed={outcome[0]}, worst relative difference {outcome[1]:.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--inputs", type=int, default=64, help="input size D (one-hot words for the lecture RNN)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (1: steadier timings)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-exact", action="store_true", help="skip part (b)")
    args = parser.parse_args()
    part_a(args)
    if not args.skip_exact:
        part_b(args)


if __name__ == "__main__":
    main()
