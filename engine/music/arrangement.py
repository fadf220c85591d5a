"""Which parts play: the genre's band, edited by the brief's add/remove lists, plus the
genre's counter-melody voice when a lead plays (it enters late: orchestration.py).

Why here and not in the style table: a request like "no drums, add strings" changes the
band, and the harmony stem must never end up empty (a fallback pad takes over).
"""
from __future__ import annotations

import dataclasses

from .brief import Brief
from .orchestration import COUNTER
from .score import Part
from .styles import ADDABLE, FALLBACK_HARMONY, Style, groups_of


def _drop(parts: list[Part], removed: set[str]) -> list[Part]:
    return [p for p in parts if not set(groups_of(p)) & removed]


def choose_parts(style: Style, brief: Brief) -> tuple[Part, ...]:
    removed = set(brief.remove)
    parts = _drop(list(style.parts), removed)
    for group in brief.add:
        if group in removed:
            continue
        present = [p for p in parts if group in groups_of(p)]
        if present:   # already in the band: let it play from the start
            parts = [dataclasses.replace(p, min_level=0) if p in present else p for p in parts]
        else:
            parts.append(ADDABLE[group])
    if style.name in COUNTER and any(p.role == "lead" for p in parts):   # a second line answers the lead
        parts.extend(_drop([COUNTER[style.name]], removed))
    if not any(p.stem == "harmony" for p in parts):
        for patch in FALLBACK_HARMONY:
            style = "pad" if patch in ("pad_warm", "strings") else "arp"
            candidate = Part("harmony", "harmony", patch, "comp", style, register=(52, 76), spread=0.5, send=0.3)
            if not set(groups_of(candidate)) & removed:
                parts.append(candidate)
                break
    return tuple(parts)
