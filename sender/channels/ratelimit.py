"""A provider's rate limit shared by every worker: GCRA (generic cell rate algorithm) in one Redis script.

Each rate (say 14/s, and 50000/h) is a key holding its "theoretical arrival time". One EVALSHA checks every
rate of a limiter and takes a permit only if all of them allow it, so workers on any number of hosts never
exceed the rate together. Time comes from the Redis server (TIME), so clocks of worker hosts do not matter.
Channel-neutral: each channel uses its own key (`sender:rate:<channel>`) and its own rates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis

from sender.config import Rate

# KEYS: one per rate. ARGV: per rate, its emission interval and burst tolerance, in microseconds.
# Returns {granted (1/0), microseconds to wait before asking again, server time in microseconds}.
_GCRA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local allow_at = tat - tolerance
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return {0, wait, now} end
for i, key in ipairs(KEYS) do
  local ttl = math.ceil((tats[i] - now) / 1000) + 1000
  redis.call('SET', key, string.format('%d', tats[i]), 'PX', ttl)
end
return {1, 0, now}
"""

# Pushes every rate's arrival time at least ARGV[1] microseconds past now: a provider asked us to slow down.
_HOLD = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local until_t = now + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < until_t then
    redis.call('SET', key, string.format('%d', until_t), 'PX', math.ceil((until_t - now) / 1000) + 1000)
  end
end
return now
"""

# Longest single sleep while waiting for a permit, so a stop or a lowered rate is noticed soon.
_MAX_SLEEP = 1.0


@dataclass(frozen=True)
class Permit:
    """The answer to one request: granted or not, how long to wait, and the Redis server's clock."""

    granted: bool
    wait_seconds: float
    server_time: float


class RateLimiter:
    """Permits at most each `Rate` across every process sharing the Redis database; thread-safe."""

    def __init__(self, redis: Redis, key: str, rates: Sequence[Rate]) -> None:
        if not rates:
            raise ValueError("a rate limiter needs at least one rate")
        self.rates = tuple(rates)
        self._keys = [f"{key}:{rate.per_seconds}" for rate in self.rates]
        args: list[int] = []
        for rate in self.rates:
            # A burst of at most 5 % of the count (none below 20/period): a permit asked for a little late (network,
            # a busy host) does not lose its slot, so the rate is reached on average, and no window of the
            # rate's length ever holds more than count + 5 %. (A whole period's burst would let 14/s become 27.)
            interval = rate.per_seconds * 1_000_000 // rate.count
            args += [interval, (rate.count // 20) * interval]
        self._args = args
        self._script = redis.register_script(_GCRA)
        self._hold = redis.register_script(_HOLD)

    def try_acquire(self) -> Permit:
        """Take one permit if every rate allows it now."""
        granted, wait, now = self._script(keys=self._keys, args=self._args)
        return Permit(bool(granted), int(wait) / 1e6, int(now) / 1e6)

    def acquire(self) -> Permit:
        """Block until a permit is granted; return it."""
        while True:
            permit = self.try_acquire()
            if permit.granted:
                return permit
            time.sleep(min(permit.wait_seconds, _MAX_SLEEP))

    def hold(self, seconds: float) -> None:
        """Grant no permit, to any worker, for `seconds` (the provider throttled us)."""
        self._hold(keys=self._keys, args=[int(seconds * 1e6)])
