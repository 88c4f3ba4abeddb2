"""Simulated Enlighten accounts (the credentials tests and demos log in with)."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
MFA_EMAIL = "mfa@example.com"
MFA_PASSWORD = "mfa-password"
MULTI_EMAIL = "multi@example.com"
MULTI_PASSWORD = "multi-password"
BLOCKED_EMAIL = "blocked@example.com"
BLOCKED_PASSWORD = "blocked-password"

SITE_FULL = 1000001
SITE_MICROS = 1000002
SITE_LEGACY = 1000003
SITE_LARGE = 1000004


@dataclass(frozen=True)
class Account:
    """One Enlighten login."""

    email: str
    password: str
    user_id: str
    display_name: str
    site_ids: tuple[int, ...]
    mfa: bool = False
    blocked: bool = False


ACCOUNTS: dict[str, Account] = {
    a.email: a
    for a in (
        Account(DEMO_EMAIL, DEMO_PASSWORD, "4000001", "Demo Owner", (SITE_FULL,)),
        Account(
            MFA_EMAIL, MFA_PASSWORD, "4000002", "Mfa Owner", (SITE_FULL, SITE_MICROS), mfa=True
        ),
        Account(
            MULTI_EMAIL,
            MULTI_PASSWORD,
            "4000003",
            "Multi Owner",
            (SITE_FULL, SITE_MICROS, SITE_LEGACY, SITE_LARGE),
        ),
        Account(BLOCKED_EMAIL, BLOCKED_PASSWORD, "4000004", "Blocked Owner", (), blocked=True),
    )
}


def find_account(email: str) -> Account | None:
    """Look an account up by e-mail, case-insensitively."""
    return ACCOUNTS.get(email.strip().lower())
