"""The matching engine: profiles from observations, and verdicts per (enterprise, item) pair."""

from matching.engine import MatchItem, MatchResult, Verdict, compile_items, match, match_one
from matching.profiles import Conflict, ProfileBuild, build_profiles

__all__ = [
    "Conflict", "MatchItem", "MatchResult", "ProfileBuild", "Verdict", "build_profiles", "compile_items", "match",
    "match_one",
]
