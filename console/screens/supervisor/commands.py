"""The command palette (Ctrl+P) offers what the footer offers: the screen's own key actions.

Built from the screen's bindings as they are active now (their `check_action` applied), so
the palette and the footer can never disagree, and a role's palette holds only that role's
screen actions: a supervisor's palette has the review tabs, never an agent's 示忙.
Generic over the screen; the supervisor's screens list it in their `COMMANDS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ScreenKeyCommands(Provider):
    """Each shown, enabled binding of the screen (not of the app, not of a widget)."""

    def commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """(description, key as shown, callback) of every action the footer can show."""
        screen = self.screen
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if active.node is not screen or not active.enabled or not binding.description:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            shown = binding.key_display or self.app.get_key_display(binding)
            yield (
                binding.description,
                shown or key,
                functools.partial(screen.run_action, binding.action),
            )

    async def discover(self) -> Hits:
        for name, key, callback in self.commands():
            yield DiscoveryHit(name, callback, help=key)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, key, callback in self.commands():
            score = max(matcher.match(name), matcher.match(key))
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=key)
