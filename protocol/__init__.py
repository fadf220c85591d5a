"""Protocol shapes both the engine and the client need (imports neither side)."""
