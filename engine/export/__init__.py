"""Draft → files: the render queue, the ffmpeg graph, the soundtrack, music-only exports, titles."""
