"""All models, imported here so Alembic and the app see one metadata."""

from policy_hub.models.audit import AuditEntry, AuditHead, JobRun
from policy_hub.models.awards import (
    Award,
    AwardObjection,
    AwardRecovery,
    BankReturn,
    BudgetEntry,
    Payment,
    PayoutBatch,
)
from policy_hub.models.items import Item, ItemAllocation, ItemRevision
from policy_hub.models.matching import MatchResult, MatchRun
from policy_hub.models.profiles import Enterprise, ImportBatch, Observation, ProfileAccess
from policy_hub.models.users import ROLES, User

__all__ = [
    "AuditEntry", "AuditHead", "JobRun", "Award", "AwardObjection", "AwardRecovery", "BudgetEntry", "BankReturn",
    "Payment", "PayoutBatch", "Item",
    "ItemAllocation", "ItemRevision", "MatchResult", "MatchRun", "Enterprise", "ImportBatch", "Observation",
    "ProfileAccess", "ROLES", "User",
]
