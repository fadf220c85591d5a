"""Start-up cost of the embedded engine (issue 16, item 3): what ``ai-music run`` pays before
the engine answers its first request. The heavy libraries (scipy, the composer) are warmed
up in a worker thread while the client uploads, so importing the engine's app must not pull
them in."""
from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_the_engine_answers_before_the_music_engine_is_loaded() -> None:
    probe = ("import sys, engine.app, engine.embedded, runtime.cli; "
             "print(sorted(m for m in ('scipy', 'pyloudnorm', 'engine.music.composer', 'engine.analysis.analyze') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_music_engine_names_are_there_when_asked_for() -> None:
    import pytest

    import engine.music

    assert all(getattr(engine.music, name) is not None for name in engine.music.__all__)
    assert callable(engine.music.make_music) and engine.music.Brief.__name__ == "Brief"
    with pytest.raises(AttributeError):
        engine.music.no_such_name  # noqa: B018
