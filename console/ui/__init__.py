"""The seat's Textual UI plumbing: ports it talks to, messages it posts, state it shows.

Screens and widgets live in `console/screens` and `console/widgets`; this package holds
what they share without being widgets: the ports (protocols) of the call flow, the duty
record and the night-mode switch as the UI needs them, the thread-safe messages that carry
flow events into the app, the seat model, texts in Chinese and English, note drafts.
"""

from __future__ import annotations
