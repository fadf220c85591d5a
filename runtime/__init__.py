"""The SKILL.md interpreter: reads a skill document and runs its conversation.

Generic: it knows no endpoint by heart. ``document`` reads SKILL.md and holds the rules read
from it (routing, GUI translation, errors); the rest are front ends on top of it: ``cli`` is
the command line, ``repl`` the chat, ``mcp_server`` the MCP tools, ``harness`` the scripted
conversations, and ``backend`` the one place that starts the embedded engine.
"""
