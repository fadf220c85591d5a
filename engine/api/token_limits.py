"""How fast anonymous tokens are handed out: per client id and per source address.

Anyone who can reach the engine may ask for a token, and each one used to cost a full
rewrite of the users file; nothing bounded how many a client or an address could get.
A token bucket per client id (a client asks again when its token expires or is lost) and
a larger one per source address (several clients behind one address) refuse a flood with
429 and ``Retry-After``; the store separately keeps at most ``MAX_LIVE_TOKENS`` per user.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

PER_CLIENT = (10, 10.0)    # burst, tokens per minute
PER_SOURCE = (120, 60.0)
MAX_KEYS = 10_000          # buckets remembered; full ones are forgotten first


@dataclass
class _Bucket:
    level: float
    at: float


class Buckets:
    """Token buckets by key: :meth:`take` says how long to wait (0: go ahead)."""

    def __init__(self, burst: int, per_minute: float) -> None:
        self.burst, self.rate = float(burst), per_minute / 60.0
        self.buckets: dict[str, _Bucket] = {}

    def _level(self, key: str, now: float) -> _Bucket:
        bucket = self.buckets.get(key) or _Bucket(self.burst, now)
        bucket.level = min(self.burst, bucket.level + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def wait_for(self, key: str, now: float) -> float:
        bucket = self._level(key, now)
        return 0.0 if bucket.level >= 1 else (1 - bucket.level) / self.rate

    def take(self, key: str, now: float) -> None:
        bucket = self._level(key, now)
        bucket.level -= 1
        self.buckets[key] = bucket
        if len(self.buckets) > MAX_KEYS:
            for stale in [k for k, b in self.buckets.items() if b.level + (now - b.at) * self.rate >= self.burst]:
                del self.buckets[stale]


class TokenLimits:
    def __init__(self, per_client: tuple[int, float] = PER_CLIENT, per_source: tuple[int, float] = PER_SOURCE) -> None:
        self.clients, self.sources = Buckets(*per_client), Buckets(*per_source)
        self.lock = threading.Lock()

    def check(self, client: str, source: str) -> float:
        """Seconds to wait before this client may get a token from this source (0: now, and it is counted)."""
        now = time.monotonic()
        with self.lock:
            wait = max(self.clients.wait_for(client, now), self.sources.wait_for(source, now))
            if wait <= 0:
                self.clients.take(client, now)
                self.sources.take(source, now)
            return wait
