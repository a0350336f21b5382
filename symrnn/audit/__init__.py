"""``symrnn audit FILE.md``: the checks a careful reader makes of a lecture, by machine.

Every ``$...$``/``$$...$$`` span is read with :mod:`symrnn.latex.parse` (:mod:`.reading`); the document's own
definitions (explicit matrices, the one-hot vectors and their vocabulary, the states named by
``h_t ~ [P(Y_t = tag | ...)]``, the nonlinearity ``g``, the recurrence ``h_t = g(U h_{t-1} + W x_t)``) become a
model (:mod:`.model`), and then:

* every number shown is recomputed from that model to the precision shown (:mod:`.numbers`: worked lines and
  ``P(...) ~ 0.44``), and a worked line's symbolic form must be the recurrence the document defines;
* sizes are checked against each other and against the definitions (:mod:`.sizes`, and ``W x_t`` in worked lines);
* distributions defined as ``u_{j,i} = P(Y_t = j | Y_{t-1} = i)`` must sum to 1 over the event's index, and free
  indices must agree on both sides of an equation (:mod:`.indices`);
* derivative equations are evaluated on a small RNN of the document's form with a random loss, and a
  gradient-descent update must step against the gradient of the loss the text names (:mod:`.derivatives`);
* a function takes the same number of arguments everywhere (:mod:`.consistency`).

Nothing is specific to one lecture: another sentence, other matrices or another nonlinearity are read the same way.
:mod:`.report` puts the findings (:mod:`.findings`) in line order and registers the command.

Any input is audited within a :class:`symrnn.core.budget.Budget` (:mod:`.bounded`): the file is read up to
``max_bytes``, at most ``max_spans`` spans are checked, each span is parsed within the budget's limits and its checks
run within ``seconds`` and ``memory_mb`` (a forked worker when they evaluate anything); a check out of budget or
failing unexpectedly is a ``warning`` on its line, and every other finding is still reported.
"""

from symrnn.audit.findings import LEVELS, Finding, summary
from symrnn.audit.report import audit_file, audit_text, cmd_audit, lecture_findings, register

__all__ = ["LEVELS", "Finding", "audit_file", "audit_text", "cmd_audit", "lecture_findings", "register", "summary"]
