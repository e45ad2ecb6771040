"""Payee account encryption at rest (Fernet, with key ids so keys can rotate)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from policy_hub.services import ServiceError


def _keys() -> list[tuple[str, Fernet]]:
    """``POLICY_HUB_ACCOUNT_KEYS`` = "id:key[,id:key...]"; the first key encrypts, any listed key decrypts."""
    out = []
    for part in current_app.config["ACCOUNT_KEYS"].split(","):
        key_id, _, key = part.strip().partition(":")
        out.append((key_id, Fernet(key.encode())))
    return out


def encrypt_account(account_no: str) -> tuple[str, str]:
    """(key id, token) for an account number."""
    key_id, fernet = _keys()[0]
    return key_id, fernet.encrypt(account_no.encode()).decode()


def decrypt_account(key_id: str, token: str) -> str:
    for kid, fernet in _keys():
        if kid == key_id:
            try:
                return fernet.decrypt(token.encode()).decode()
            except InvalidToken as exc:
                raise ServiceError(f"账号解密失败（密钥 {key_id}）") from exc
    raise ServiceError(f"找不到账号加密密钥 {key_id}")
