"""scipy.signal loads without scipy.stats (a quarter second of every start), and nothing of either is lost."""
from __future__ import annotations

import subprocess
import sys

from support import ROOT

CHECK = """
import sys
from engine import scipy_signal
scipy_signal.load()
print(sorted(m for m in sys.modules if m.startswith("scipy.stats")))
import numpy as np, scipy.signal
x = np.sin(np.linspace(0, 20, 500))
print([int(i) for i in scipy.signal.find_peaks_cwt(x, np.arange(1, 10))])   # the one caller of scipy.stats
import scipy.stats
print(type(scipy.stats.norm).__name__, float(scipy.stats.scoreatpercentile([1, 2, 3, 4], 50)))
"""


def test_scipy_signal_loads_without_scipy_stats_and_both_still_work() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout.splitlines()
    assert out[0] == "[]", f"scipy.stats was imported with scipy.signal: {out[0]}"
    assert out[1] == "[40, 196, 353, 496]"
    assert out[2] == "norm_gen 2.5"
