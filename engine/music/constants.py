"""Every tunable number of the music engine, in one place.

Why one file: the numbers that trade musicality against the hard requirements (exact
length, loudness, speed) interact, and tuning them is easier when they sit together.
"""
from __future__ import annotations

SAMPLE_RATE = 48_000

# --- form -------------------------------------------------------------------------
SWELL_MAX_S = 2.0            # shorter clips get one fading swell instead of a metred piece
TAIL_BASE_S = 0.6            # final-chord ring: base + per-second share, clamped
TAIL_PER_S = 0.025
TAIL_MAX_S = 2.2
TAIL_RANGE = (0.6, 2.0)      # the grid fit may stretch the tail by these factors
TAIL_MIN_S = 0.35
REQUESTED_BPM_TOLERANCE = 0.029         # a hair inside the promised 3%
AUTO_BPM_FLEX = 0.15         # an unrequested tempo may move this much to fit the clip
SHORT_CLIP_S = 8.0           # below this the tempo window widens (stings)
MIN_FILL_GAP_S = 3.0         # at most one fill/transition per this many seconds
DOWNBEAT_SNAP_BEATS = 0.75   # a cut this close to a bar line moves its fill onto the bar
HOLD_SHARE = 0.55            # final chord is held for this share of the tail, then released
END_SILENCE_S = 0.04         # the last samples are exactly zero
FADE_START_SHARE = 0.45      # tail fade starts this far into the tail

# --- performance ------------------------------------------------------------------
HUMANIZE_S = 0.003           # onset jitter per note (std); drums use 0.6x
HUMANIZE_MAX_S = 0.008
PULSE_S = 0.007              # the band's shared push/pull per beat (std): recorded music varies 2-3 % beat to beat
PULSE_MAX_S = 0.012          # never more (hits and cuts stay within a frame or so)
BACKBEAT_LATE_S = 0.006      # snare and clap sit behind the beat
HAT_GROOVE_S = (0.0, 0.004, -0.002, 0.005)   # hats per 16th of the beat
VELOCITY_JITTER = 0.06
STRUM_S = 0.012              # gap between strings in a strum
DRUM_TAKES = 4               # renderings per drum piece and layer, cycled: no two hits in a row alike

THREADS = 2                  # stems render in parallel (two cores); mixdown holds this many stem buffers
PARALLEL_MAX_S = 300.0       # longer pieces render one stem at a time (a stem buffer is 0.37 MB per second)
# ... into a stem buffer on disk, their notes a span of this many samples at a time (about 44 s at 48 kHz)
RENDER_SPAN = 1 << 21
WAVE_CACHE_MB = 96.0         # note waveforms kept between spans (each stays until its group's next span)
AHEAD_MAX_BYTES = 4_000_000  # a note waveform this small renders on the helper thread ahead of its turn

# --- synthesis --------------------------------------------------------------------
TABLE_SIZE = 4096
REVERB_DECIMATION = 4        # the reverb runs at sample_rate / this (it is dark anyway)
REVERB_LOW_CUT_HZ = 180.0    # keeps low end mono and clean
LOOP_OVERHANG_S = 4.0        # loopable pieces render this much past the end and fold it back
STEM_BLOCK_S = 0.4           # block size for the stems' active-level measurement

# --- mastering --------------------------------------------------------------------
CHUNK = 1 << 16              # samples per step of the streaming passes (mastering, meters, pump)
DC_CUTOFF_HZ = 25.0
MONO_BASS_HZ = 120.0
MIN_CORRELATION = 0.5        # side is narrowed until L/R correlation reaches this
LIMITER_BLOCK = 32           # gain is computed per block of this many samples
MAX_GAIN_KNOTS = 1 << 21     # longer pieces double the block until they fit (memory, see mastering.gain_block)
LIMITER_LOOKAHEAD_S = 0.003
LIMITER_RELEASE_DB_PER_S = 30.0
TP_MARGIN_DB = 0.2           # the limiter aims this far under the ceiling
TP_CANDIDATE_DB = 6.0        # inter-sample peaks are searched this far under the sample peak
TP_TAPS = 24                 # windowed-sinc taps for 4x true-peak interpolation
LOUDNESS_TOLERANCE_LU = 0.05
