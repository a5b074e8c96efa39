"""Find the real Redis and PostgreSQL the tests use, or skip (fail under CI) without them."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_HOST = os.environ.get("FARMLIVE_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("FARMLIVE_TEST_REDIS_PORT", "6379"))
PG_HOST = os.environ.get("FARMLIVE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FARMLIVE_TEST_PG_PORT", "5432"))
PG_ADMIN_DB = os.environ.get("FARMLIVE_TEST_PG_DB", "test")
PG_USER = os.environ.get("FARMLIVE_TEST_PG_USER", "postgres")


def services_required() -> bool:
    """CI sets FARMLIVE_REQUIRE_SERVICES=1: a missing service then fails instead of skipping."""
    return os.environ.get("FARMLIVE_REQUIRE_SERVICES", "") not in ("", "0", "false")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need(service: str, host: str, port: int) -> None:
    if port_open(host, port):
        return
    message = f"{service} is not answering on {host}:{port}"
    if services_required():
        pytest.fail(message + " and FARMLIVE_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def redis_url(db: int = 1) -> str:
    need("Redis", REDIS_HOST, REDIS_PORT)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def pg_dsn(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
