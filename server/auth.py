"""Passwords (argon2), bearer tokens (signed JWT) and the current-user dependency."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated

import jwt
from fastapi import Depends, Request
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from server.errors import Unauthenticated
from shop.accounts import User
from shop.errors import NotFound

_hasher = PasswordHash((Argon2Hasher(),))
# Verifying against this when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("farmlive-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash is a failed login, not a crash
        return False


class TokenSigner:
    """Issues and checks HS256 tokens carrying the user id; they expire after `ttl_seconds`."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def mac(self, value: str) -> str:
        """A short keyed digest of `value` (the device cookie's signature)."""
        digest = hmac.new(self._secret.encode(), b"device:" + value.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {"sub": str(user.id), "role": user.role.value, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def user_id(self, token: str) -> int:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthenticated("the token is invalid or has expired; sign in again") from exc


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_user(request: Request) -> User:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated()
    services = request.app.state.services
    user_id = services.tokens.user_id(token)
    try:
        user: User = await services.accounts.get(user_id)
    except NotFound as exc:
        raise Unauthenticated("this account no longer exists") from exc
    if not user.active:
        raise Unauthenticated("this account is disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
