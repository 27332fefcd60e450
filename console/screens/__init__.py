"""The seat's screens: login, seat, ringing, on call / after-call work, handover, night, away."""

from __future__ import annotations
