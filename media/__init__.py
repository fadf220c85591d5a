"""Media helpers both sides use: the bundled ffmpeg, probing, generated fixtures.

Imports neither ``engine``, ``skill`` nor ``runtime``; everything here shells out to the
ffmpeg that ``imageio-ffmpeg`` ships, so no system package is needed.
"""
