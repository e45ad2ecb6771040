"""Users: creation, password and token authentication, and the scope checks every view relies on."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from stdnum.cn import uscc
from werkzeug.security import check_password_hash, generate_password_hash

from policy_hub.extensions import db
from policy_hub.models import ROLES, User
from policy_hub.services import Forbidden, ServiceError
from policy_hub.services import audit as audit_service
from rules import regions


def create_user(username: str, role: str, password: str, *, region_code: str | None = None,
                credit_code: str | None = None, actor_id: int | None = None) -> User:
    """Create a user. Enterprise users need a valid credit code; every other role needs a region (140000 = 省级).

    Raises ServiceError on an unknown role, a bad credit code or region, a short password or a taken username.
    """
    if role not in ROLES:
        raise ServiceError(f"未知角色 {role}，可选：{', '.join(ROLES)}")
    if len(password) < 8:
        raise ServiceError("密码至少 8 位")
    if role == "enterprise":
        if not credit_code or not uscc.is_valid(credit_code):
            raise ServiceError(f"统一社会信用代码无效：{credit_code}")
        region_code = None
    else:
        if not region_code:
            raise ServiceError(f"角色 {role} 需要 --region（区划代码，省级为 140000）")
        region_code = regions.resolve(region_code)
        credit_code = None
    if db.session.scalar(select(User).where(User.username == username)):
        raise ServiceError(f"用户名 {username} 已存在")
    user = User(username=username, role=role, region_code=region_code, credit_code=credit_code,
                password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    audit_service.record(actor_id, "user.create", "user", user.id, None, {"role": role, "region": region_code})
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    if user and check_password_hash(user.password_hash, password):
        return user
    return None


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """A new API token for ``user`` (the previous one stops working). Only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    user.token_hash = _token_digest(token)
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    return db.session.scalar(select(User).where(User.token_hash == _token_digest(token))) if token else None


# -- scope ------------------------------------------------------------------------------------------------

class SystemActor:
    """The operator behind CLI commands and jobs: province-wide scope, no user row (audit actor_id is None)."""

    id = None
    role = "system"
    region_code = "140000"
    credit_code = None
    username = "system"
    is_authenticated = True


SYSTEM = SystemActor()

def can_see_region(user: User, region_code: str | None) -> bool:
    """A region user sees its region and the regions below it; the province sees all; enterprises no regions."""
    if user.role == "enterprise" or not region_code:
        return False
    return regions.within(region_code, user.region_code) if user.region_code else False


def require_region(user: User, region_code: str | None) -> None:
    if not can_see_region(user, region_code):
        raise Forbidden("无权访问该地区的数据")


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles and user.role != "system":
        raise Forbidden("当前角色无权执行此操作")


def require_enterprise(user: User, credit_code: str) -> None:
    """An enterprise user may only touch its own records."""
    if user.role != "enterprise" or user.credit_code != credit_code:
        raise Forbidden("只能访问本企业的数据")
