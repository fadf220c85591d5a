"""Which writing system a text uses — shared by the router, the GUI translator and the engine.

Chinese, Japanese and Korean write words without spaces between them, so a keyword in
those scripts is matched as a substring, never with ``\\b`` word boundaries; and a first
message in Han characters means the session should be created in Chinese.
"""
from __future__ import annotations

import re

UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
