"""The acceptance rule: weighted votes, the Wilson score interval, quorum, and the rule in words.

Pure reads of settings and a correction's tallies; ``community.review.decisions`` applies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

from community.models import Correction, CorrectionStatus, Profile, Role

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_bounds(positive: float, negative: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of positive / (positive + negative); weights count as votes.

    With no votes the interval is [0, 1]: nothing is known yet.
    """
    n = positive + negative
    if n <= 0:
        return 0.0, 1.0
    p = positive / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Tally:
    votes_up: int
    votes_down: int
    weight_up: float
    weight_down: float
    historian_votes: int

    @property
    def votes(self) -> int:
        return self.votes_up + self.votes_down

    @classmethod
    def of(cls, correction: Correction) -> Tally:
        return cls(
            correction.votes_up,
            correction.votes_down,
            correction.weight_up,
            correction.weight_down,
            correction.historian_votes,
        )


@dataclass(frozen=True)
class AcceptanceRule:
    min_votes: int
    min_historians: int
    accept_lower: float
    reject_upper: float
    weight_volunteer: float
    weight_historian: float
    weight_new: float
    trusted_reputation: int

    @classmethod
    def from_settings(cls) -> AcceptanceRule:
        return cls(
            min_votes=settings.CHROMA_REVIEW_MIN_VOTES,
            min_historians=settings.CHROMA_REVIEW_MIN_HISTORIANS,
            accept_lower=settings.CHROMA_REVIEW_ACCEPT_LOWER,
            reject_upper=settings.CHROMA_REVIEW_REJECT_UPPER,
            weight_volunteer=settings.CHROMA_VOTE_WEIGHT_VOLUNTEER,
            weight_historian=settings.CHROMA_VOTE_WEIGHT_HISTORIAN,
            weight_new=settings.CHROMA_VOTE_WEIGHT_NEW,
            trusted_reputation=settings.CHROMA_VOTE_TRUSTED_REPUTATION,
        )

    def bounds(self, tally: Tally) -> tuple[float, float]:
        return wilson_bounds(tally.weight_up, tally.weight_down)

    def quorum(self, tally: Tally) -> bool:
        return tally.votes >= self.min_votes and tally.historian_votes >= self.min_historians

    def outcome(self, tally: Tally) -> str | None:
        """``accepted``, ``rejected``, or None while undecided."""
        if not self.quorum(tally):
            return None
        lower, upper = self.bounds(tally)
        if lower >= self.accept_lower:
            return CorrectionStatus.ACCEPTED
        if upper <= self.reject_upper:
            return CorrectionStatus.REJECTED
        return None

    def explain(self, tally: Tally) -> str:
        lower, upper = self.bounds(tally)
        return (
            f"{tally.votes} votes ({tally.votes_up} for, {tally.votes_down} against; {tally.historian_votes} by "
            f"historians), weighted {tally.weight_up:g} for and {tally.weight_down:g} against; "
            f"95% Wilson interval of the approval [{lower:.3f}, {upper:.3f}]"
        )

    def describe(self) -> str:
        """The rule in plain words, for the pages where people vote."""
        historians = (
            f", including at least {self.min_historians} by a verified historian"
            if self.min_historians == 1
            else f", including at least {self.min_historians} by verified historians"
            if self.min_historians
            else ""
        )
        return (
            f"A correction is decided once it has at least {self.min_votes} votes{historians}. "
            f"It is accepted when we are 95% confident that at least {self.accept_lower:.0%} of the weighted votes "
            f"approve it (the lower bound of the Wilson interval), and rejected when we are 95% confident that at "
            f"most {self.reject_upper:.0%} do (its upper bound). "
            f"A historian's vote counts as {self.weight_historian:g} votes, a volunteer's as "
            f"{self.weight_volunteer:g}, and the vote of an account with less than "
            f"{self.trusted_reputation} reputation as {self.weight_new:g}. Moderators may also decide, with a reason."
        )


def rule() -> AcceptanceRule:
    return AcceptanceRule.from_settings()


def vote_weight(profile: Profile) -> tuple[float, bool]:
    """(weight, counts as a historian) of a person's vote now."""
    current = rule()
    if profile.role == Role.HISTORIAN:
        return current.weight_historian, True
    if profile.reputation < current.trusted_reputation:
        return current.weight_new, False
    return current.weight_volunteer, False
