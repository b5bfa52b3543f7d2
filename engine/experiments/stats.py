"""Mean, spread and Welch's t-test over the repeats of a grid's rows.

Repeats differ only by their seed (weights, shuffling, split), so their spread is the noise of
one setting; a row is "significantly worse than the best" only when Welch's t-test (unequal
variances, two-sided) gives p < 0.05 against the best row. With fewer than two repeats on either
side there is no spread to test against: the answer is None, never a guess.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence

SIGNIFICANCE_LEVEL = 0.05


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean, sample standard deviation): None for no values; the deviation None for one."""
    if not values:
        return None, None
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) >= 2 else None)


def best_index(samples: Sequence[Sequence[float]]) -> int | None:
    """The row with the highest mean (the first of equals); None when no row has values."""
    means = [(statistics.fmean(values), -i) for i, values in enumerate(samples) if values]
    return -max(means)[1] if means else None


def worse_than_best(samples: Sequence[Sequence[float]]) -> list[bool | None]:
    """For each row of values: whether its mean is significantly below the best row's (False for
    the best row itself; None where either side has fewer than two values)."""
    best = best_index(samples)
    marks: list[bool | None] = []
    for i, values in enumerate(samples):
        if best is None or len(values) < 2 or len(samples[best]) < 2:
            marks.append(None)
        elif i == best:
            marks.append(False)
        else:
            marks.append(
                welch_p(values, samples[best]) < SIGNIFICANCE_LEVEL
                and statistics.fmean(values) < statistics.fmean(samples[best])
            )
    return marks


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test. Two constant samples: 0 when their values differ
    (no noise, a real difference), 1 when they are equal (SciPy gives NaN for both)."""
    from scipy.stats import ttest_ind  # slow to import: loaded when needed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "nearly identical data" (constant samples)
        p = float(ttest_ind(list(a), list(b), equal_var=False).pvalue)
    if math.isnan(p):
        return 1.0 if statistics.fmean(a) == statistics.fmean(b) else 0.0
    return p
