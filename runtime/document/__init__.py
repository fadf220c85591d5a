"""SKILL.md → :class:`Skill`, and the rules read from it (routing, GUI translation, errors).

The document half of the runtime: it imports nothing of ours but ``protocol``, so the client
(``skill/``) can use it without pulling in a front end. The names most callers need are
re-exported here; the modules say where each rule comes from.
"""

from runtime.document.errors import SkillError
from runtime.document.load import default_skill_path, load_skill
from runtime.document.model import Action, ErrorKind, GuiAction, Skill

__all__ = ["Action", "ErrorKind", "GuiAction", "Skill", "SkillError", "default_skill_path", "load_skill"]
