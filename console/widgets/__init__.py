"""Small widgets of the seat, one per module; each talks only to its parent (messages up)."""

from __future__ import annotations
