"""The SKILL.md interpreter: reads a skill document and runs its conversation.

Generic: it knows no endpoint by heart. ``skillfile`` reads the document, ``router``
picks actions, ``gui`` translates the backend's GUI talk, ``cli`` is the command line.
"""
