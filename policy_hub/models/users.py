"""Users and their scope: a region (with the regions below it) or one enterprise."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from policy_hub.extensions import db
from policy_hub.models.types import UTCDateTime, utcnow

ROLES = ("enterprise", "city_admin", "finance_reviewer", "finance_approver", "data_officer", "province_admin")
ROLE_LABELS = {
    "enterprise": "企业",
    "city_admin": "地区管理员",
    "finance_reviewer": "财政初审",
    "finance_approver": "财政审批",
    "data_officer": "数据专员",
    "province_admin": "省级运营",
}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('enterprise','city_admin','finance_reviewer','finance_approver','data_officer','province_admin')",
            name="role_known",
        ),
        CheckConstraint("role <> 'enterprise' OR credit_code IS NOT NULL", name="enterprise_has_credit_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(6))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)
