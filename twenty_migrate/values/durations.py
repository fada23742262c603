"""Durations as people read them: ``2 min 05 s`` in sentences, ``2m05s`` on a progress line."""

from __future__ import annotations

import math

__all__ = ["format_duration"]


def format_duration(seconds: float, *, compact: bool = False, round_up: bool = False) -> str:
    """``seconds`` in seconds, minutes or hours; ``compact`` for a progress line.

    ``round_up`` for a lower bound (an estimate never promises less than the budget allows).

    Example:
        >>> format_duration(125), format_duration(125, compact=True)
        ('2 min 05 s', '2m05s')
    """
    whole = int(math.ceil(seconds)) if round_up else max(0, int(round(seconds)))
    s, m, h = ("s", "m", "m") if compact else (" s", " min ", " min")
    if whole < 60:
        return f"{whole}{s}"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}{m}{secs:02d}{s}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}{'h' if compact else ' h '}{minutes:02d}{h}"
