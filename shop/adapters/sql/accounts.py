"""SqlAccounts: staff users. Password hashing is the caller's (server/) business."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.accounts import Role, User
from shop.adapters.sql import audit, rows
from shop.adapters.sql.tables import cooperatives, users, utcnow
from shop.errors import Conflict, NotFound


class SqlAccounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        email: str,
        password_hash: str,
        role: Role,
        *,
        cooperative_id: int | None = None,
        display_name: str = "",
        actor_id: int | None = None,
    ) -> User:
        async with self._engine.begin() as conn:
            if cooperative_id is not None:
                found = await conn.execute(
                    select(cooperatives.c.id).where(cooperatives.c.id == cooperative_id)
                )
                if found.scalar_one_or_none() is None:
                    raise NotFound(f"no cooperative {cooperative_id}")
            try:
                result = await conn.execute(
                    users.insert()
                    .values(
                        email=email.strip().lower(),
                        password_hash=password_hash,
                        role=role.value,
                        cooperative_id=cooperative_id,
                        display_name=display_name,
                        active=True,
                        created_at=utcnow(),
                    )
                    .returning(users)
                )
            except IntegrityError as exc:
                raise Conflict(f"a user with e-mail {email} already exists") from exc
            user = rows.user(result.one())
            await audit.record(conn, actor_id, "user.create", "user", user.id, {"role": role.value})
        return user

    async def get(self, user_id: int) -> User:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).one_or_none()
        if row is None:
            raise NotFound(f"no user {user_id}")
        return rows.user(row)

    async def credentials(self, email: str) -> tuple[User, str] | None:
        """The user and stored password hash for a login, or None."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(users).where(users.c.email == email.strip().lower()))
            ).one_or_none()
        if row is None:
            return None
        return rows.user(row), row.password_hash

    async def update_hash(self, user_id: int, password_hash: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=password_hash)
            )

    async def list(self) -> list[User]:
        async with self._engine.connect() as conn:
            return [rows.user(r) for r in await conn.execute(select(users).order_by(users.c.id))]

    async def set_active(self, actor_id: int | None, user_id: int, active: bool) -> User:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update().where(users.c.id == user_id).values(active=active)
            )
            if result.rowcount == 0:
                raise NotFound(f"no user {user_id}")
            action = "user.enable" if active else "user.disable"
            await audit.record(conn, actor_id, action, "user", user_id)
        return await self.get(user_id)

    async def set_password_token(
        self, actor_id: int | None, user_id: int, token_hash: str, expires: datetime
    ) -> None:
        """Store a one-time set-password link's hash (a reset also voids the old password)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(password_token_hash=token_hash, password_token_expires=expires)
            )
            if result.rowcount == 0:
                raise NotFound(f"no user {user_id}")
            await audit.record(conn, actor_id, "user.password_link", "user", user_id)

    async def use_password_token(self, token_hash: str, password_hash: str) -> User:
        """Set the password through a link: once, before it expires; else NotFound."""
        now = utcnow()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(users.c.id).where(
                        users.c.password_token_hash == token_hash,
                        users.c.password_token_expires > now,
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFound("this link is not valid (used already, or expired)")
            await conn.execute(
                users.update()
                .where(users.c.id == row.id)
                .values(
                    password_hash=password_hash,
                    password_token_hash=None,
                    password_token_expires=None,
                )
            )
            await audit.record(conn, row.id, "user.password_set", "user", row.id)
        return await self.get(row.id)
