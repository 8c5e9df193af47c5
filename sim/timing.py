"""Latency distributions per channel (the scenario's timing model), drawn from one RNG."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from math import log

# Channels an op can travel on (``Op.channel``, resolved by the store for the two that depend
# on the session: ``SimDB.latency_channel``) and the scenario key that times each.
CHANNEL_KEYS = {
    "db": "db_latency",
    "db_write": "db_write_latency",  # a write outside a transaction: PostgreSQL flushes before answering
    "db_commit": "db_commit_latency",  # COMMIT of a transaction that wrote (the flush happens here)
    "lock": "db_latency",
    "mq": "publish_latency",
    "consume": "listener_delay",
    "run": "worker_duration",
    "arrival": "arrival_gap",  # Poisson load: gaps between workflow starts (sim/load.py)
}
DEFAULT_TIMING: dict[str, dict[str, float | str]] = {
    "worker_duration": {"dist": "uniform", "low": 1.0, "high": 1.1},
    "db_latency": {"dist": "exponential", "mean": 0.002},
    "publish_latency": {"dist": "exponential", "mean": 0.001},
    "listener_delay": {"dist": "exponential", "mean": 0.001},
    "arrival_gap": {"dist": "exponential", "mean": 1.0},
}


def transaction_channel(channel: str, in_transaction: bool, wrote: bool) -> str:
    """The channel that times a database op of ``channel`` given its session's transaction
    state: a write inside a transaction answers without a flush (``db``), a COMMIT flushes
    only if its transaction wrote. The simulated store and the live driver both ask this."""
    if channel == "db_write":
        return "db" if in_transaction else channel
    if channel == "db_commit":
        return channel if wrote else "db"
    return channel


# Keys a scenario may leave out to mean "the same as this other key", so that a scenario
# written before the key existed runs exactly as before (same draws, same digests).
FALLBACK_KEYS = {"db_write_latency": "db_latency", "db_commit_latency": "db_latency"}
TIMING_KEYS = (*DEFAULT_TIMING, *FALLBACK_KEYS)
DISTRIBUTIONS = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "normal": ("mean", "sd"),
}


@dataclass(frozen=True, slots=True)
class Distribution:
    dist: str
    params: tuple[float, ...]

    @classmethod
    def from_spec(cls, spec: Mapping[str, object]) -> Distribution:
        kind = str(spec.get("dist", ""))
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {kind!r} (choose from {', '.join(DISTRIBUTIONS)})")
        params = tuple(float(spec[name]) for name in DISTRIBUTIONS[kind])  # type: ignore[arg-type]
        return cls(kind, params)

    @property
    def mean(self) -> float:
        if self.dist == "uniform":
            return (self.params[0] + self.params[1]) / 2
        return self.params[0]

    @property
    def rate(self) -> float:
        """An exponential draw's rate: a draw is ``-log(1.0 - rng.random()) / rate`` (the
        kernel's lean loop inlines exactly this; ``tests/test_kernel.py`` checks they agree)."""
        return 1.0 / self.params[0]

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A zero-argument draw bound to ``rng`` (a closure keeps the hot path cheap)."""
        p = self.params
        if self.dist == "constant":
            value = p[0]
            return lambda: value
        # uniform and exponential inline random.uniform / random.expovariate (same
        # arithmetic, same values) to save a Python call on every op.
        rnd = rng.random
        if self.dist == "uniform":
            low, high = p
            span = high - low
            return lambda: low + span * rnd()
        if self.dist == "exponential":
            if p[0] <= 0:
                return lambda: 0.0
            rate = self.rate
            return lambda: -log(1.0 - rnd()) / rate
        mean, sd = p
        gauss = rng.gauss
        return lambda: max(0.0, gauss(mean, sd))


@dataclass(frozen=True, slots=True)
class TimingModel:
    distributions: tuple[tuple[str, Distribution], ...]
    # The hash, computed once: every run (and every actor) looks its tables up by the model,
    # and hashing the nested distributions each time cost about 2% of a sweep.
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self.distributions))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[TimingModel], tuple[tuple[tuple[str, Distribution], ...]]]:
        return (TimingModel, (self.distributions,))  # rebuilt, so the hash is this process's

    @classmethod
    def from_spec(cls, spec: Mapping[str, Mapping[str, object]] | None) -> TimingModel:
        merged = {**DEFAULT_TIMING, **(spec or {})}
        for key, same_as in FALLBACK_KEYS.items():
            merged.setdefault(key, merged[same_as])
        return cls(tuple((k, Distribution.from_spec(v)) for k, v in sorted(merged.items())))

    def by_key(self) -> dict[str, Distribution]:
        return dict(self.distributions)

    def samplers(self, rng: random.Random) -> dict[str, Callable[[], float]]:
        """channel -> draw function, all sharing ``rng``."""
        return {channel: dist.sampler(rng) for channel, dist in _channels(self)}

    def exponential_rates(self) -> dict[str, float]:
        """channel -> rate, for the channels drawn from an exponential of positive mean (a
        shared table: read it, do not change it)."""
        return _rates(self)

    @property
    def splits_db(self) -> bool:
        """Whether writes or commits are timed apart from the other database ops (else the
        channel a write travels on changes no draw, and the kernel need not resolve it)."""
        return _splits_db(self)

    def means(self) -> dict[str, float]:
        """channel -> mean latency (a shared table: read it, do not change it)."""
        return _means(self)


@lru_cache(maxsize=256)  # every run of a sweep asks again; a timing model is immutable
def _channels(timing: TimingModel) -> tuple[tuple[str, Distribution], ...]:
    by_key = timing.by_key()
    return tuple((channel, by_key[key]) for channel, key in CHANNEL_KEYS.items())


@lru_cache(maxsize=256)
def _rates(timing: TimingModel) -> dict[str, float]:
    return {c: d.rate for c, d in _channels(timing) if d.dist == "exponential" and d.params[0] > 0}


@lru_cache(maxsize=256)
def _splits_db(timing: TimingModel) -> bool:
    by_key = timing.by_key()
    db = by_key["db_latency"]
    return by_key["db_write_latency"] != db or by_key["db_commit_latency"] != db


@lru_cache(maxsize=256)
def _means(timing: TimingModel) -> dict[str, float]:
    return {channel: dist.mean for channel, dist in _channels(timing)}
