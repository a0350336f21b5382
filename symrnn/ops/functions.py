"""Scalar functions the lecture uses that SymPy does not have."""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801 - a SymPy function, named like sp.tanh
    """The logistic sigmoid ``1 / (1 + e^{-z})``; its derivative is ``sigma (1 - sigma)``."""

    def fdiff(self, argindex: int = 1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _numpycode(self, printer) -> str:
        np_ = printer._module_format("numpy")
        return f"(0.5*(1 + {np_}.tanh(0.5*({printer._print(self.args[0])}))))"  # never overflows

    def _lecture_latex(self, printer, exp=None) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"
