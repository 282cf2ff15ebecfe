"""Value conversions between cgroup v1 and v2, the way runc makes them.

- cpu.shares [2, 262144] → cpu.weight [1, 10000]: runc's linear map
  1 + (shares - 2) * 9999 / 262142 (runc ≤ 1.2; 0 stays "unset").
- blkio.weight [10, 1000] → io.weight [1, 10000]: 1 + (weight - 10) * 9999 / 990.
- memory.swap in the spec is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
- Byte sizes as `runc update` takes them: 64m, 1g, 512k, -1.
"""

from __future__ import annotations


def shares_to_weight(shares: int) -> int:
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    if weight == 0:
        return 0
    return 1 + ((weight - 10) * 9999) // 990


def swap_v2(swap: int, limit: int) -> int:
    """memory+swap (spec, v1) → memory.swap.max (v2); -1 unlimited, 0 unset. Raises
    ValueError with runc's reasons."""
    if swap in (-1, 0):
        return swap
    if limit in (0, -1):
        raise ValueError("unable to set swap limit without memory limit")
    if swap < limit:
        raise ValueError(f"memory+swap limit ({swap}) should be >= memory limit ({limit})")
    return swap - limit


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50,
          "pb": 1 << 50}


def ram_in_bytes(text: str) -> int:
    """A size as docker/go-units RAMInBytes parses it (binary units, case-insensitive);
    -1 means unlimited."""
    s = text.strip()
    if s == "-1":
        return -1
    num = s.rstrip("bBkKmMgGtTpPiI")
    unit = s[len(num):].lower().replace("i", "")
    if unit not in _UNITS or not num:
        raise ValueError(f"invalid size: {text!r}")
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"invalid size: {text!r}") from None
    if value < 0:
        raise ValueError(f"invalid size: {text!r}")
    return int(value * _UNITS[unit])

