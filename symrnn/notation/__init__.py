"""The lecture's notation, in one place: index symbols, entry symbols, vectors, matrices and probabilities.

Everything here builds SymPy objects; how they print lives in :mod:`symrnn.latex.printer`.  Indices are 1-based,
as in the lecture: ``u_{j,i}`` is row j, column i of U.  The modules split it by kind; this package gathers
them so that ``from symrnn import notation as nt`` reaches every name.
"""

from symrnn.notation.probability import *  # noqa: F403
from symrnn.notation.relations import *  # noqa: F403
from symrnn.notation.symbols import *  # noqa: F403
from symrnn.notation.symbols import _name  # noqa: F401
from symrnn.notation.vectors import *  # noqa: F403
from symrnn.notation.vectors import _EntrywiseOnOne  # noqa: F401
from symrnn.numeric.graph import numeric  # noqa: F401
