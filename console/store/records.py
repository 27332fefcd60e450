"""The old name of `console.store.values`, kept only for the two importers outside the store.

`console/screens/supervisor/base.py` and `console/widgets/calls_table.py` read
`OUTCOME_ZH` and `CallOutcome` from here; they belong to other work in progress, so their
one-line import changes are theirs to make. Nothing in `console.store` may import this
module (an import-linter contract says so); delete it once those two import
`console.store.values`.
"""

from __future__ import annotations

from console.store.values import OUTCOME_ZH, CallOutcome

__all__ = ["OUTCOME_ZH", "CallOutcome"]
