"""The web app's accounts: create, authenticate, list, change (argon2 password hashes).

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, the library's recommended
parameters); a hash made with older parameters is re-hashed at the next successful login. A
password is never stored, logged or compared as text.

Authentication spends the same hashing time whether or not the username exists (a dummy hash
is verified), so response times do not tell which usernames are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.store import models as m

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a bound stops a hashing denial of service
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


class UserError(ValueError):
    """An account cannot be created or changed; the message says why."""


@dataclass(frozen=True)
class Account:
    """A user as the app sees it (no hash)."""

    id: int
    username: str
    role: str
    active: bool


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not a password of anyone")


def check_password(password: str) -> None:
    """Refuse a password too short or too long (raises :class:`UserError`)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")


def check_username(username: str) -> None:
    if not 1 <= len(username) <= 100 or not set(username) <= USERNAME_CHARS:
        raise UserError("a username has 1 to 100 letters, digits or . _ - @")


def add_user(session: Session, username: str, role: str, password: str, *,
             replace: bool = False) -> Account:
    """Create an account (or, with ``replace``, set the role and password of an existing one
    and re-activate it).

    Raises
    ------
    UserError
        Bad username, role or password, or the username is taken and ``replace`` is false.
    """
    check_username(username)
    if role not in m.ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(m.ROLES)}")
    check_password(password)
    user = session.execute(select(m.User).where(m.User.username == username)
                           ).scalar_one_or_none()
    if user is not None and not replace:
        raise UserError(f"user {username!r} already exists")
    digest = hasher().hash(password)
    if user is None:
        user = m.User(username=username, role=role, password_hash=digest, active=True)
        session.add(user)
    else:
        user.role, user.password_hash, user.active = role, digest, True
    session.flush()
    return account(user)


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """The active account with this username and password, or None (and the same work)."""
    user = session.execute(select(m.User).where(m.User.username == username)
                           ).scalar_one_or_none()
    if len(password) > MAX_PASSWORD:
        return None
    digest = user.password_hash if user is not None else _dummy_hash()
    try:
        hasher().verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    user.last_login_at = m.utcnow()
    return account(user)


def get(session: Session, user_id: int) -> Account | None:
    user = session.get(m.User, user_id)
    return None if user is None else account(user)


def set_active(session: Session, user_id: int, active: bool) -> Account:
    user = session.get(m.User, user_id)
    if user is None:
        raise UserError(f"there is no user {user_id}")
    user.active = active
    return account(user)


def all_users(session: Session) -> list[m.User]:
    return list(session.execute(select(m.User).order_by(m.User.username)).scalars())


def account(user: m.User) -> Account:
    return Account(id=user.id, username=user.username, role=user.role, active=user.active)
