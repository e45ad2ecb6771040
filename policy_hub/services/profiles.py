"""Reading one enterprise's profile (一企一档), with the data-use record item 15 asks for.

Every read by a non-enterprise user is recorded in ``ProfileAccess`` in the caller's transaction
(晋政发〔2024〕8号 item 15: records of data use); an enterprise reading its own profile is not recorded.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from policy_hub.extensions import db
from policy_hub.models import Enterprise, ImportBatch, Observation, ProfileAccess, User
from policy_hub.services import NotFound
from policy_hub.services.feeds import RECOGNITION, load_observations
from policy_hub.services.matching import profiles_for_year
from policy_hub.services.users import require_enterprise, require_region, require_role
from rules.derived import derive
from rules.vocabulary import FIELDS, encode_value

logger = logging.getLogger(__name__)

# Region roles that may read an enterprise profile within their scope.
PROFILE_READERS = ("finance_reviewer", "finance_approver", "city_admin", "data_officer", "province_admin")
DERIVED_SOURCE = "derived"


def profile_of(credit_code: str, fiscal_year: int, as_of: date) -> dict:
    """The JSON-able profile of one registered enterprise for ``fiscal_year`` as of ``as_of``.

    Returns ``{credit_code, name, fiscal_year, as_of (date), values: {field code: JSON value}, sources:
    {field code: source}}``. Values are encoded with ``rules.vocabulary.encode_value`` (money as 元 strings,
    dates ISO, qualification sets as sorted lists, mappings of ISO dates); derived fields are included with
    source ``derived``. Unknown fields are absent from ``values`` or null.
    Raises NotFound when the enterprise has no registration (市场监管) data.
    """
    build = profiles_for_year(fiscal_year, as_of, load_observations(credit_code))
    profile = build.profiles.get(credit_code)
    if profile is None:
        raise NotFound(f"企业 {credit_code} 没有登记信息，无法生成一企一档")
    sources = dict(build.sources.get(credit_code, {}))
    full = derive(profile, as_of)
    values = {}
    for code, value in sorted(full.items()):
        if code not in FIELDS:
            continue  # bookkeeping keys such as closed_lists / data_issues
        values[code] = encode_value(code, value)
        if code not in profile:
            sources.setdefault(code, DERIVED_SOURCE)
    return {"credit_code": credit_code, "name": profile.get("name"), "fiscal_year": fiscal_year, "as_of": as_of,
            "values": values, "sources": {k: v for k, v in sorted(sources.items()) if k in values}}


def provenance(credit_code: str, fiscal_year: int, sources: dict[str, str]) -> dict[str, dict]:
    """Where each profile value came from: field code -> ``{source, filename, imported_at (UTC datetime)}`` of
    the latest observation of that field (and year) from the source it was taken from (``sources`` as returned
    by :func:`profile_of`). Derived and closed-world default values have no entry."""
    latest: dict[tuple, tuple[str, object]] = {}
    rows = db.session.execute(
        select(Observation.field, Observation.fiscal_year, Observation.source, ImportBatch.filename,
               Observation.observed_at)
        .join(ImportBatch, ImportBatch.id == Observation.import_id)
        .where(Observation.credit_code == credit_code).order_by(Observation.id))
    for fld, year, source, filename, at in rows:
        latest[(fld, year, source)] = (filename, at)
    out = {}
    for key, source in sources.items():
        spec = FIELDS[key]
        base = key[:-5] if key.endswith("_prev") and key[:-5] in FIELDS else key
        year = (fiscal_year - 1 if base != key else fiscal_year) if spec.yearly else None
        if key in ("qualifications", "qualified_on", "first_qualified_on"):
            base = RECOGNITION
        found = latest.get((base, year, source))
        if found is not None:
            out[key] = {"source": source, "filename": found[0], "imported_at": found[1]}
    return out


def read_profile(user: User, credit_code: str, endpoint: str, fiscal_year: int, as_of: date) -> dict:
    """One enterprise's profile for ``user``, recording the read unless the enterprise reads its own.

    Scope: an enterprise user reads only its own profile; a region role (PROFILE_READERS) reads enterprises whose
    registered ``region_code`` lies within its region. The ProfileAccess row (user, credit code, ``endpoint``,
    e.g. ``"GET /api/v1/enterprises/<code>/profile"``) is added and flushed, never committed.
    Returns the dict of :func:`profile_of`. Raises Forbidden (wrong role or out of scope) or NotFound.
    """
    if user.role == "enterprise":
        require_enterprise(user, credit_code)
        return profile_of(credit_code, fiscal_year, as_of)
    require_role(user, *PROFILE_READERS)
    ent = db.session.get(Enterprise, credit_code)
    if ent is None or not ent.registered:
        raise NotFound(f"企业 {credit_code} 不存在或没有登记信息")
    require_region(user, ent.region_code)
    result = profile_of(credit_code, fiscal_year, as_of)
    db.session.add(ProfileAccess(user_id=user.id, credit_code=credit_code, endpoint=endpoint[:200]))
    db.session.flush()
    logger.info("profile of %s read by user %s via %s", credit_code, user.id, endpoint)
    return result


def record_access(user: User, credit_codes, endpoint: str) -> None:
    """Record that ``user`` saw profile data (explanations, inputs) of these enterprises through ``endpoint``.

    Enterprises reading their own data are not recorded. Flushes, never commits.
    """
    if user.role == "enterprise":
        return
    for code in sorted(set(credit_codes)):
        db.session.add(ProfileAccess(user_id=user.id, credit_code=code, endpoint=endpoint[:200]))
    db.session.flush()
