"""The arithmetic of results: a scorecard's weighted mean, the spread of an idea's reviews,
and the rank correlation between the crowd and the experts. Pure functions, no database."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Reviews of one idea disagree strongly when their standard deviation reaches this many
# points on the 0-100 scale (two reviewers 40 points apart have a deviation of 20).
DISAGREEMENT_SD = 20.0


@dataclass(frozen=True)
class Scale:
    weight: float
    top: int  # marks run 1..top


def weighted_score(scores: Mapping[int, int], criteria: Mapping[int, Scale]) -> float:
    """A scorecard's weighted mean on 0-100: each mark placed on its own scale (1 is 0, the
    top mark 100), so criteria on 1-5 and 1-10 can be weighed together."""
    total = sum(c.weight for c in criteria.values())
    placed = sum(c.weight * (scores[cid] - 1) / (c.top - 1) * 100 for cid, c in criteria.items())
    return round(placed / total, 2)


@dataclass(frozen=True)
class Spread:
    sd: float
    low: float
    high: float

    @property
    def disagreement(self) -> bool:
        return self.sd >= DISAGREEMENT_SD


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def spread(values: Sequence[float]) -> Spread | None:
    """The population standard deviation and the range of an idea's review scores."""
    if not values:
        return None
    centre = sum(values) / len(values)
    sd = math.sqrt(sum((v - centre) ** 2 for v in values) / len(values))
    return Spread(round(sd, 2), min(values), max(values))


def ranks(values: Sequence[float]) -> list[float]:
    """1 for the highest value; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation: the Pearson correlation of the two rankings (ties
    averaged). None with fewer than two ideas, or when one side ranks them all equal."""
    if len(a) != len(b):
        raise ValueError("the two rankings must cover the same ideas")
    if len(a) < 2:
        return None
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    if va == 0 or vb == 0:
        return None
    return round(cov / (va * vb), 4)
