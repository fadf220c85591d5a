"""Which recorded instrument plays each patch, and how it is played.

Patches not listed here are synthesizers by nature (808, saw leads, supersaw, sub bass)
and stay in voices.py; everything a band or an orchestra would play is a recording.
"""
from __future__ import annotations

from .sampler import Voicing

VOICINGS: dict[str, Voicing] = {
    "piano": Voicing("piano", drift_cents=1.0, release=0.35, vel_lo=40, vel_hi=110),
    "epiano": Voicing("epiano", drift_cents=1.5, vibrato_cents=2.0, vibrato_hz=4.6, vibrato_delay=0.2, release=0.3,
                      max_s=4.0, ensemble=True),
    "epiano_dusty": Voicing("epiano", drift_cents=2.5, vibrato_cents=2.5, vibrato_hz=0.9, vibrato_delay=0.0,
                            release=0.3, max_s=4.0, vel_hi=90, ensemble=True),          # tape wow: slow, a little wide
    "guitar": Voicing("nylon", drift_cents=1.5, release=0.15, max_s=3.5, ensemble=True,
                      double_s=0.014),                                            # double-tracked
    "guitar_bright": Voicing("steel", drift_cents=1.5, vibrato_cents=2.5, vibrato_delay=0.4, release=0.15, max_s=3.0),
    "upright": Voicing("upright", drift_cents=1.5, release=0.12, max_s=2.5),
    "pluck_bass": Voicing("finger_bass", drift_cents=1.0, release=0.1, max_s=2.5),
    "strings": Voicing("strings", attack=0.25, drift_cents=2.5, vibrato_cents=6.0, vibrato_hz=5.4, ensemble=True,
                       release=0.7, double_s=0.009, takes=2, tone_hz=4500.0),
    "strings_low": Voicing("strings", attack=0.06, drift_cents=1.5, vibrato_cents=3.5, vibrato_hz=5.0, release=0.35),
    "choir": Voicing("choir", attack=0.45, drift_cents=2.0, vibrato_cents=3.5, vibrato_hz=4.6, ensemble=True,
                     release=0.9, double_s=0.012, takes=2, tone_hz=4000.0),
    "horn": Voicing("horn", attack=0.06, drift_cents=2.0, vibrato_cents=4.5, vibrato_hz=4.8, vibrato_delay=0.4,
                    release=0.35),
    "flute_soft": Voicing("flute", attack=0.05, drift_cents=2.0, vibrato_cents=8.0, vibrato_hz=5.0,
                          vibrato_delay=0.25, release=0.2, vel_hi=95),
    "marimba": Voicing("marimba", drift_cents=0.5, release=0.1, max_s=2.5),
    "bell": Voicing("vibraphone", drift_cents=1.0, vibrato_cents=4.0, vibrato_hz=5.5, vibrato_delay=0.05,
                    release=0.4, max_s=3.5),
    "glass": Voicing("celesta", drift_cents=1.5, release=0.8, max_s=3.0, vel_hi=90, tone_hz=2000.0),
    "pad_warm": Voicing("warm_pad", attack=0.6, drift_cents=2.0, vibrato_cents=1.0, vibrato_hz=0.4,
                        vibrato_delay=0.0, ensemble=True, release=1.2, takes=2, tone_hz=2500.0),
    "pad_air": Voicing("halo_pad", attack=1.2, drift_cents=2.0, vibrato_cents=1.0, vibrato_hz=0.3,
                       vibrato_delay=0.0, ensemble=True, release=2.0, takes=2, tone_hz=1200.0),
    "pad_dark": Voicing("warm_pad", attack=1.5, drift_cents=2.0, vibrato_cents=1.0, vibrato_hz=0.25,
                        vibrato_delay=0.0, ensemble=True, release=2.0, vel_hi=80, takes=2, tone_hz=1100.0),
}

# drum kit of each style -> the recorded kit that plays it
KITS: dict[str, str] = {
    "lofi": "kit_jazz", "boombap": "kit_room", "pop": "kit_standard", "909": "kit_electronic",
    "cinematic": "kit_orchestra", "folk": "kit_brush", "soft": "kit_brush",
}
