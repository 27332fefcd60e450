"""Key bindings in the seat's language.

Textual's `BINDINGS` are class-level, so their descriptions (what the footer and the key
panel show) are fixed at import. A screen or app whose binding descriptions are text keys
(e.g. ``"rv.tab.log"``, ``"common.quit"``) calls `localize_bindings(self, language)` once
when it is built; each node holds its own copy of its bindings (`_bindings`), so nothing
class-level changes. Light on purpose (Textual and the text table only): the app imports it
at start-up.
"""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from console.domain.labels import Language
from console.ui.texts import TEXTS, text


def localize_bindings(node: DOMNode, language: Language) -> None:
    """Put every binding of `node` whose description is a text key into `language`."""
    bindings = node._bindings
    bindings.key_to_bindings = {
        key: [
            replace(b, description=text(b.description, language))
            if b.description in TEXTS
            else b
            for b in found
        ]
        for key, found in bindings.key_to_bindings.items()
    }
