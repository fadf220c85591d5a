"""One chat turn: text → edits → reply, as the ADK events the cloud backend streams."""
