"""A small unrolled instance of a document's cell (T = 3 steps, random weights, inputs, targets and initial states,
50 digits): every quantity's value at every step from the cell's forward pass, and the true total derivatives of
the loss (in a quantity at one step, or in a parameter) by central differences through the whole unrolled forward
pass.  These derivatives use neither the document's claims nor the engine's BPTT: they are the reference a claim is
compared with.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import mpmath
import numpy as np
import sympy as sp

from symrnn import notation as nt
from symrnn.audit.cell_model import CellModel
from symrnn.audit.per_step_loss import ABSTRACT
from symrnn.autodiff import matcalc
from symrnn.derive.loss_reading import CROSS_ENTROPY

DPS = 50
STEPS = 3
STEP = mpmath.mpf("1e-20")  #: central differences: truncation about 1e-40, rounding about 1e-30


def _array(rows: int, cols: int, rng: random.Random, low: int = -9, high: int = 9) -> np.ndarray:
    return np.array([[mpmath.mpf(rng.randint(low, high)) / 10 for _ in range(cols)] for _ in range(rows)],
                    dtype=object)


class Instance:
    """The cell unrolled over :data:`STEPS` steps at random values (``seed``), evaluated at :data:`DPS` digits."""

    def __init__(self, model: CellModel, seed: int = 0, steps: int = STEPS) -> None:
        rng = random.Random(seed)
        self.model, self.T = model, steps
        self.symbols = {str(p.name): p for e in model.equations for p in e.rhs.atoms(sp.MatrixSymbol)
                        if not isinstance(p, nt.Vec)}
        with mpmath.workdps(DPS):
            self.params = {k: _array(*model.params[k], rng) for k in sorted(self.symbols)}
            self.xs = [_array(model.m, 1, rng) for _ in range(steps)]
            self.h0 = {s: _array(model.n, 1, rng, -5, 5) for s in model.states}
            if model.loss == CROSS_ENTROPY:
                picks = [rng.randrange(model.n) for _ in range(steps)]
                self.ys = [np.array([[mpmath.mpf(int(r == k))] for r in range(model.n)], dtype=object)
                           for k in picks]
            else:
                self.ys = [_array(model.n, 1, rng) for _ in range(steps)]
            #: an abstract per-step loss's gradient in its quantity at each step (free: any value is some loss's)
            self.step_grads = [_array(model.n, 1, rng) for _ in range(steps)] if model.loss == ABSTRACT else []
            self.values = self.forward({})
        self._totals: dict[tuple[str, int], np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}

    def forward(self, override: Mapping[tuple[str, int], np.ndarray],
                params: Mapping[str, np.ndarray] | None = None) -> dict[tuple[str, int], np.ndarray]:
        """Every quantity ``(name, k)`` at k = 1..T (states also at 0), with the values in ``override`` put in place
        of the computed ones (the steps before the first override are reused)."""
        params = self.params if params is None else params
        first = max(min((k for _, k in override), default=1), 1) if params is self.params else 1
        values = {key: v for key, v in getattr(self, "values", {}).items() if key[1] < first}
        values.update({(s, 0): v for s, v in self.h0.items()})
        values.update({key: v for key, v in override.items() if key[1] == 0})  # an initial state moved
        n, m = self.model.n, self.model.m
        for k in range(first, self.T + 1):
            vals: dict = {self.symbols[name]: params[name] for name in self.symbols}
            vals.update({nt.Vec(s, nt.t - 1, n): values[(s, k - 1)] for s in self.model.states})
            vals[nt.Vec("x", nt.t, m)] = self.xs[k - 1]
            for e in self.model.equations:
                value = override.get((e.name, k))
                if value is None:
                    value = matcalc.evaluate(e.rhs, vals, "mpmath")
                vals[e.lhs] = values[(e.name, k)] = value
        return values

    def loss(self, values: Mapping[tuple[str, int], np.ndarray]):
        """The document's loss, summed over the steps, of the quantity it reads."""
        total = mpmath.mpf(0)
        if self.model.loss == ABSTRACT:  # scale * sum_t g_t . q_t: the derivatives of any l with gradients g_t
            scale = self.model.per_step.factor(self.T)
            scale = mpmath.mpf(scale.p) / scale.q if scale.is_Rational else mpmath.mpf(sp.Float(scale, DPS)._mpf_)
            return scale * sum(g[r, 0] * values[(self.model.output, k + 1)][r, 0]
                               for k, g in enumerate(self.step_grads) for r in range(g.shape[0]))
        for k in range(1, self.T + 1):
            q, y = values[(self.model.output, k)], self.ys[k - 1]
            if self.model.loss == CROSS_ENTROPY:
                total -= sum(y[r, 0] * mpmath.log(q[r, 0]) for r in range(q.shape[0]) if y[r, 0] != 0)
            else:
                total += sum((q[r, 0] - y[r, 0]) ** 2 for r in range(q.shape[0])) / 2
        return total

    def total(self, name: str, k: int) -> np.ndarray:
        """dL/d(name_k): through everything computed from it, at this step and every later one."""
        if (name, k) not in self._totals:
            with mpmath.workdps(DPS):
                base = self.values[(name, k)]
                out = np.empty(base.shape, dtype=object)
                for r in range(base.shape[0]):
                    def moved(e, r=r):
                        bumped = base.copy()
                        bumped[r, 0] += e
                        return self.loss(self.forward({(name, k): bumped}))
                    out[r, 0] = (moved(STEP) - moved(-STEP)) / (2 * STEP)
            self._totals[(name, k)] = out
        return self._totals[(name, k)]

    def gradient(self, param: str) -> np.ndarray:
        """dL/d(param): through every step."""
        if param not in self._grads:
            with mpmath.workdps(DPS):
                base = self.params[param]
                out = np.empty(base.shape, dtype=object)
                for r in range(base.shape[0]):
                    for c in range(base.shape[1]):
                        def moved(e, r=r, c=c):
                            bumped = base.copy()
                            bumped[r, c] += e
                            return self.loss(self.forward({}, {**self.params, param: bumped}))
                        out[r, c] = (moved(STEP) - moved(-STEP)) / (2 * STEP)
            self._grads[param] = out
        return self._grads[param]

    def jacobian(self, out: tuple[str, int], wrt: tuple[str, int]) -> np.ndarray:
        """d(out)/d(wrt), one row per entry of ``out`` (numerator layout), through the forward pass (zero when
        ``out`` is computed before ``wrt``); a KeyError for a quantity or step the instance does not have."""
        if out not in self.values or wrt not in self.values:
            raise KeyError(f"{out} or {wrt}")
        cache = self.__dict__.setdefault("_jacobians", {})
        if (out, wrt) not in cache:
            cache[(out, wrt)] = self._jacobian(out, wrt)
        return cache[(out, wrt)]

    def _jacobian(self, out: tuple[str, int], wrt: tuple[str, int]) -> np.ndarray:
        base = self.values[wrt]
        jac = np.empty((self.values[out].shape[0], base.shape[0]), dtype=object)
        with mpmath.workdps(DPS):
            for c in range(base.shape[0]):
                def moved(e, c=c):
                    bumped = base.copy()
                    bumped[c, 0] += e
                    return self.forward({wrt: bumped})[out]
                hi, lo = moved(STEP), moved(-STEP)
                for r in range(jac.shape[0]):
                    jac[r, c] = (hi[r, 0] - lo[r, 0]) / (2 * STEP)
        return jac

    def target(self, k: int) -> np.ndarray:
        return self.ys[k - 1]
