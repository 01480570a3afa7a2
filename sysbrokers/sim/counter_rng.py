"""Counter-based random numbers: value = f(seed, key, stream, counter).

Every random number the simulator uses is a pure function of its coordinates, so any bar can
be regenerated alone, in any process, in any order, with any NumPy version (only integer
arithmetic and ``log``/``cos``/``sqrt`` are used: no library bit streams).
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV_2_53 = 1.0 / float(1 << 53)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def stable_hash(text: str) -> int:
    """A process-independent 32-bit hash of a string (``hash()`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def stream_key(*parts: int) -> np.uint64:
    """Combine integers (seed, key hash, stream id, ...) into one 64-bit key."""
    acc = np.array([0x243F6A8885A308D3], dtype=np.uint64)
    for part in parts:
        acc = _mix(acc ^ np.array([int(part) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    return acc[0]


def uniforms(key: np.uint64, counters: np.ndarray) -> np.ndarray:
    """Uniform(0, 1) values, open interval, one per counter."""
    c = np.asarray(counters).astype(np.int64).view(np.uint64)
    h = _mix(_mix(c ^ key) + key)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _INV_2_53


def normals(key: np.uint64, counters: np.ndarray) -> np.ndarray:
    """Standard normal values (Box-Muller), one per counter."""
    c = np.asarray(counters).astype(np.int64)
    u1 = uniforms(key, 2 * c)
    u2 = uniforms(key, 2 * c + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
