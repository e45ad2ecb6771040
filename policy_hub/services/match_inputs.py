"""What a matching partition reads: the observations of its enterprises only, and their profile frame.

A full run is split by the city of each enterprise's registration snapshot (``enterprises.city_code``, kept by
the 市场监管 feed import): one partition per city, plus ``NO_CITY`` for every other credit code that has
observations (no Shanxi city, no registration, or no enterprises row at all). The split is disjoint and covers
every observed credit code; verdicts do not depend on it (jurisdiction spans come from each profile's own
region_code, exclusive groups are per enterprise), so it only bounds what one partition loads.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select

from matching.vector_build import FrameBuild, frame_from_observations
from policy_hub.extensions import db
from policy_hub.models import Enterprise, Observation
from policy_hub.services.conflicts import load_resolutions
from policy_hub.services.feeds import closed_world_state, decode_observation
from rules.regions import cities

NO_CITY = "none"  # the partition of enterprises whose region is unknown, provincial or outside Shanxi
OBSERVATION_COLUMNS = ["credit_code", "field", "value", "fiscal_year", "source", "seq"]


def partition_observations(partition: str) -> pd.DataFrame:
    """The observations of one partition's enterprises, typed, in import order, as
    ``services.feeds.load_observations`` returns them (credit_code, field, value, fiscal_year Int64, source, seq).

    ``partition`` is a city code of ``rules.regions.cities()`` or ``NO_CITY``; raises ValueError otherwise.
    """
    city_codes = [c.code for c in cities()]
    query = select(Observation.credit_code, Observation.field, Observation.value, Observation.fiscal_year,
                   Observation.source, Observation.id).order_by(Observation.id)
    if partition == NO_CITY:
        in_a_city = select(Enterprise.credit_code).where(Enterprise.city_code.in_(city_codes))
        query = query.where(Observation.credit_code.not_in(in_a_city))
    elif partition in city_codes:
        query = query.where(Observation.credit_code.in_(
            select(Enterprise.credit_code).where(Enterprise.city_code == partition)))
    else:
        raise ValueError(f"unknown partition {partition!r}")
    rows = db.session.execute(query).all()
    frame = pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)
    frame["value"] = pd.Series([decode_observation(f, v) for f, v in zip(frame["field"], frame["value"],
                                                                          strict=True)], dtype=object,
                               index=frame.index)
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame


def partition_frame(observations: pd.DataFrame, fiscal_year: int, as_of: date, fields=None) -> FrameBuild:
    """The profile frame (``matching.vector_build``) of ``observations`` for one fiscal year, with the stored
    closed-world lists and conflict resolutions; ``fields`` as ``frame_from_observations``."""
    closed_lists, credit_imported = closed_world_state()
    return frame_from_observations(observations, fiscal_year=fiscal_year, as_of=as_of, closed_lists=closed_lists,
                                   credit_list_imported=credit_imported, resolutions=load_resolutions(),
                                   fields=fields)
