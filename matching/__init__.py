"""The matching engine: profiles from observations, and verdicts per (enterprise, item) pair."""

from matching.engine import MatchItem, MatchResult, Verdict, compile_items, match, match_one
from matching.profiles import Conflict, ProfileBuild, build_profiles
from matching.vector_compile import NotVectorisable, compile_vector
from matching.vector_frame import profile_frame
from matching.vector_prepared import ProfileFrame, build_frame
from matching.vectorised import FALLBACKS, match_enterprise, match_frame, match_item, match_vectorised

__all__ = [
    "FALLBACKS", "NotVectorisable", "ProfileFrame", "build_frame", "compile_vector", "match_enterprise", "match_frame",
    "match_item", "match_vectorised", "profile_frame",
    "Conflict", "MatchItem", "MatchResult", "ProfileBuild", "Verdict", "build_profiles", "compile_items", "match",
    "match_one",
]
