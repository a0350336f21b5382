"""The lecture's part-of-speech example, computed once per build: the RNN's exact h_t, the exact filtering
posterior and the closed forms; the steps show these numbers and the checks compare them."""

from __future__ import annotations

import sympy as sp

from symrnn.models import nonlinearities, pos_tagging


class Example:
    """The lecture's example: the RNN's exact h_t, the exact filtering posterior, and the closed forms."""

    def __init__(self) -> None:
        self.model = pos_tagging.hmm()
        self.words = pos_tagging.SENTENCE
        self.xs = self.model.encode(list(self.words))
        self.steps = pos_tagging.worked_example(self.words)
        self.hs = [s.h for s in self.steps]
        self.posterior = pos_tagging.filtering(self.model, self.xs)
        self.forms = pos_tagging.closed_forms(self.steps)
        self.tags = pos_tagging.TAGS

    def top(self, vec: sp.Matrix) -> int:
        """The index of the largest entry."""
        return pos_tagging.argmax(list(vec))

    def one_step_linearised(self) -> list[sp.Matrix]:
        """``softmax(U p_{t-1} + W x_t - 2)`` from the exact ``p_{t-1}`` (``U p_0`` read as pi)."""
        out = []
        for n, kk in enumerate(self.xs):
            carried = self.model.pi if n == 0 else self.model.U * self.posterior[n - 1]
            out.append(nonlinearities.softmax(carried + self.model.W[:, kk - 1], -2))
        return out
