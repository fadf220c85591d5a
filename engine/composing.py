"""Between the session's JSON and the composer: brief + cues in, mastered WAV + facts out.

The draft stores the music request as JSON (genre, mood, bpm… and a seed); the composer
takes typed values. This is the one place that converts, writes the cached WAV, and
returns the facts a reply and the draft record (genre, bpm, key, sections, fills).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine.music.constants import SAMPLE_RATE

#: How a genre is named to people (track names, replies).
GENRE_NAMES = {"lofi": "Lo-fi", "cinematic": "Cinematic", "corporate": "Corporate", "upbeat": "Upbeat pop",
               "ambient": "Ambient", "acoustic": "Acoustic folk", "electronic": "Electronic", "hiphop": "Hip-hop",
               "piano": "Solo piano", "auto": "Matched to your video"}

_BRIEF_KEYS = ("genre", "mood", "bpm", "key", "brightness", "intensity", "add", "remove", "loopable", "hits", "seed")


def to_brief(data: dict[str, Any]):  # noqa: ANN201 - engine.music.Brief, imported lazily
    from engine.music import Brief

    values: dict[str, Any] = {k: data[k] for k in _BRIEF_KEYS if data.get(k) is not None}
    for key in ("add", "remove"):
        if key in values:
            values[key] = tuple(values[key])
    if "hits" in values:
        values["hits"] = tuple(float(h) / 1000 for h in values["hits"])
    if "seed" in values:
        values["seed"] = int(values["seed"])
    return Brief(**values)


def to_cues(data: dict[str, Any]):  # noqa: ANN201 - engine.music.Cues
    from engine.music import Cues

    return Cues(duration_s=float(data["duration_s"]), cuts=tuple(data.get("cuts", ())),
                energy=tuple(data.get("energy", ())), energy_rate=float(data.get("energy_rate", 2.0)),
                pace=float(data.get("pace", 0.5)), speech=tuple(tuple(r) for r in data.get("speech", ())))


def compose_file(brief: dict[str, Any], cues: dict[str, Any], path: Path,
                 stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """:func:`compose_to_wav` as a worker process runs it (``engine.compute``): memory handed back after.

    ``stop`` (composing in the engine's own thread) is asked between parts: true raises
    ``engine.music.synth.Stopped`` and nothing is written."""
    from media.audio import write_wav
    from engine.memory import release_memory

    try:
        return compose_to_wav(brief, cues, path, write_wav, stop)
    finally:
        release_memory()


def compose_to_wav(brief: dict[str, Any], cues: dict[str, Any], path: Path,
                   write_wav: Callable[..., Any], stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Compose, master and write ``path``; return the JSON facts about the piece."""
    from engine.music import make_music

    music = make_music(to_brief(brief), to_cues(cues), sample_rate=SAMPLE_RATE, stop=stop)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, music.audio, SAMPLE_RATE)
    facts = dict(music.describe())
    genre = GENRE_NAMES.get(str(facts.get("genre")), str(facts.get("genre", "Music")).title())
    facts["name"] = f"{genre} · {facts.get('mood', '')} · {float(facts.get('bpm') or 0):.0f} BPM"
    return facts
