"""Seed noise: what several seeds of one arm say about a difference between arms.

An arm trained at two seeds gives two scores; half their range is the spread a report shows
beside their mean, and the yardstick a gap between arms is read against: a gap no larger than
the seeds' own spread is not shown to be more than noise.

Example:

>>> mean, spread = mean_spread([2.0, 2.25])
>>> round(mean, 3), round(spread, 3)
(2.125, 0.125)
>>> compare_to_noise(-0.002, noise=0.003), compare_to_noise(-0.002, noise=None)
('matches', 'not judged')
"""

import statistics


def mean_spread(values):
    """`(mean, half the range)` of one score over seeds; the spread is 0 for one seed."""
    values = list(values)
    return statistics.fmean(values), (max(values) - min(values)) / 2


def compare_to_noise(gap, noise):
    """`"matches"`, `"better"` or `"worse"`: an arm's gap to the reference (arm minus
    reference, higher is better) within the seed noise matches; with no noise estimate (None:
    one seed) any gap is `"not judged"`."""
    if noise is None:
        return "not judged"
    if abs(gap) <= noise:
        return "matches"
    return "better" if gap > 0 else "worse"
