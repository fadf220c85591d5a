"""The local backend: the NemoVideo protocol on loopback, with real music and rendering.

BLAS runs single-threaded in the engine. Its ffmpeg children are started with a
``preexec_fn`` (``media.children``: they die with the engine), which makes ``subprocess``
fork; OpenBLAS's fork handler stops its worker threads, and a matrix product running in
another thread at that moment (the mastering's true-peak filter) then waits for them for
ever — an engine hang seen under load. The engine parallelises by job, not inside numpy,
so one BLAS thread costs nothing measurable.
"""
import os as _os
import sys as _sys

_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if "numpy" in _sys.modules:  # loaded before the engine (a test, an embedding program): limit it now
    from threadpoolctl import threadpool_limits as _limits

    _limits(1, user_api="blas")
