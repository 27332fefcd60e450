"""The supervisor's review screens (客服主任/班长, 质检): only a supervisor login reaches them."""

from __future__ import annotations

from console.screens.supervisor.home import SupervisorScreen

__all__ = ["SupervisorScreen"]
