"""Per-section orchestration: who rests, where the bass holds a pedal, where a counter-line plays.

Why: arrangement levels (form.level) thin the band by energy alone, so two sections of
similar energy sound alike. Produced music also changes its instrumentation by section:
the breakdown drops the drums (they come back with a fill), intros and builds stand on a
pedal in the styles that use one, and later sections add a counter-melody the first
statement did not have. The rules are data here; the part writers ask these functions.
"""
from __future__ import annotations

from .form import Form, SectionPlan
from .score import Part

# roles that rest through a section (the drum fill back into the next section still plays)
RESTS: dict[str, frozenset[str]] = {"breakdown": frozenset({"drums"})}
# sections whose bass holds the tonic under changing chords, by genre (score and EDM idioms;
# pop and band styles follow the chords)
PEDALS: dict[str, frozenset[str]] = {
    "cinematic": frozenset({"intro", "build"}),
    "electronic": frozenset({"intro", "build", "breakdown"}),
    "ambient": frozenset({"intro", "breakdown"}),
}
# the counter-melody's instrument per genre: a voice the band does not have yet, between
# the chords and the lead (celli under a horn, a vibraphone under a flute, ...)
COUNTER: dict[str, Part] = {
    "lofi": Part("counter", "lead", "bell", "counter", register=(62, 79), pan=-0.3, send=0.35, gain_db=-5.0),
    "hiphop": Part("counter", "lead", "flute_soft", "counter", register=(62, 81), pan=0.3, send=0.35, gain_db=-5.0),
    "cinematic": Part("counter", "lead", "strings", "counter", register=(48, 67), pan=0.25, send=0.35,
                      gain_db=-3.0),
    "corporate": Part("counter", "lead", "bell", "counter", register=(64, 81), pan=-0.3, send=0.3, gain_db=-5.0),
    "upbeat": Part("counter", "lead", "pluck", "counter", register=(62, 79), pan=-0.35, send=0.3, gain_db=-5.0),
    "ambient": Part("counter", "lead", "flute_soft", "counter", register=(60, 79), pan=-0.25, send=0.5, gain_db=-5.0),
    "acoustic": Part("counter", "lead", "strings", "counter", register=(50, 67), pan=-0.3, send=0.3, gain_db=-4.0),
    "electronic": Part("counter", "lead", "pluck", "counter", register=(60, 79), pan=0.35, send=0.3, gain_db=-5.0),
    "piano": Part("counter", "lead", "strings", "counter", register=(55, 74), pan=-0.2, send=0.35, gain_db=-5.0),
}
LATER = frozenset({"variation", "climax"})      # sections that answer the first statement


def rests(role: str, section: str) -> bool:
    """Does this role sit out the whole section?"""
    return role in RESTS.get(section, frozenset())


def pedal(genre: str, section: str) -> bool:
    """Does the bass hold the tonic through this section?"""
    return section in PEDALS.get(genre, frozenset())


def counter_sections(form: Form) -> tuple[SectionPlan, ...]:
    """Sections after the first main statement that answer it: variations, climaxes, repeated mains."""
    out: list[SectionPlan] = []
    seen_main = False
    for s in form.sections:
        if s.name == "main":
            if seen_main:
                out.append(s)
            seen_main = True
        elif s.name in LATER and seen_main:
            out.append(s)
    return tuple(out)
