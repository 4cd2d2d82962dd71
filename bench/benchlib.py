"""What the Python benchmarks share: percentiles by nearest rank."""

import math


def pct(values, p):
    """The p-th percentile of values by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]
