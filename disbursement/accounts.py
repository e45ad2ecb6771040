"""Payee account helpers: masking for logs and pages, and comparing the holder name with the registered one."""

from __future__ import annotations

import re
import unicodedata

from disbursement.errors import DisbursementError

_SEPARATORS = re.compile(r"[\s\-_]+")
_NAME_DROP = re.compile(r"[\s·・.,，。]+")


def normalise_account_no(no: str) -> str:
    """The account number as digits only (NFKC, spaces and dashes removed).

    Raises:
        DisbursementError: anything but 6 to 32 digits remains (Chinese message with the masked value).
    """
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", no or ""))
    if not (digits.isascii() and digits.isdigit()) or not 6 <= len(digits) <= 32:
        raise DisbursementError(f"银行账号应为 6 到 32 位数字，实际为 {mask_account(no)}")
    return digits


def mask_account(no: str | None) -> str:
    """Mask an account number for logs and pages: "**** **** 1234" (last four characters visible).

    Numbers of eight characters or fewer show nothing but "****".
    """
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", no or ""))
    if len(compact) <= 8:
        return "****"
    return f"**** **** {compact[-4:]}"


def normalise_name(name: str | None) -> str:
    """A company name for comparison: NFKC (full-width brackets -> ASCII), whitespace and dots removed."""
    return _NAME_DROP.sub("", unicodedata.normalize("NFKC", name or "")).upper()


def names_match(holder_name: str | None, registered_name: str | None) -> bool:
    """Whether the account holder name equals the registered 企业名称 after normalisation.

    Empty names never match. A mismatch is flagged for finance (DESIGN "Payee"), not silently accepted.
    """
    holder, registered = normalise_name(holder_name), normalise_name(registered_name)
    return bool(holder) and holder == registered
