"""The request SKILL.md's Quick edit workflow sends after an upload.

Client and engine both need it: ``ai-music run`` sends it when given no prompt, and the
engine composes its music ahead, before the turn asks (``engine.chat.ahead``).
"""

from __future__ import annotations

DEFAULT_REQUEST = "generate background music that matches the mood and length of my video"
