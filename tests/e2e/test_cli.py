"""The `farmlive` command as a new user runs it: serve --demo, users add, db upgrade."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.procs import Server, farmlive_env, run_cli


def demo_summary(url: str) -> list[tuple[str, str, int, int]]:
    sessions = httpx.get(f"{url}/api/sessions", timeout=5).json()
    return [(s["title"], s["status"], len(s["offers"]), len(s["lots"])) for s in sessions]


def test_serve_demo_twice_creates_nothing_twice(tmp_path: Path) -> None:
    """`farmlive serve --demo` on the embedded default lists the live demo; a rerun adds nothing."""
    env = farmlive_env()
    with Server(tmp_path, env, ("--demo",)) as server:
        first = demo_summary(server.url)
        assert first == [("Phiên livestream bán vải thiều Lục Ngạn", "live", 3, 1)]
        session = httpx.get(f"{server.url}/api/sessions").json()[0]
        assert [o["pack_grams"] for o in session["offers"]] == [2000, 5000, 10000]
        assert all(
            o["currency"] == "VND" and isinstance(o["price"], int) for o in session["offers"]
        )
        assert session["lots"][0]["stock_grams"] == 60_000_000
        token = httpx.post(
            f"{server.url}/api/auth/token",
            data={"username": "host@farmlive.local", "password": "farmlive-demo"},
        )
        assert token.status_code == 200
        cooperatives = httpx.get(f"{server.url}/api/cooperatives").json()
        assert [(c["name"], c["province"]) for c in cooperatives] == [
            ("HTX Vải thiều Lục Ngạn", "Bắc Ninh")
        ]
    assert "host@farmlive.local / farmlive-demo" in server.output()
    assert (tmp_path / "farmlive.db").exists()
    with Server(tmp_path, env, ("--demo",)) as again:
        assert demo_summary(again.url) == first
        assert len(httpx.get(f"{again.url}/api/cooperatives").json()) == 1


def test_users_add_and_db_upgrade(tmp_path: Path) -> None:
    """`users add` reads the password from stdin and prints the id; the user can sign in."""
    env = farmlive_env()
    up = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    assert up.returncode == 0, up.stderr
    assert "revision" in up.stdout
    added = run_cli(
        "users",
        "add",
        "Chu.Tich@Tinh.vn",
        "--role",
        "host",
        cwd=tmp_path,
        env=env,
        stdin="s3cret-pass\n",
    )
    assert added.returncode == 0, added.stderr
    user_id = int(added.stdout.strip())
    dup = run_cli(
        "users",
        "add",
        "chu.tich@tinh.vn",
        "--role",
        "host",
        "--password",
        "another-pass",
        cwd=tmp_path,
        env=env,
    )
    assert dup.returncode == 1 and "already exists" in dup.stderr
    short = run_cli(
        "users", "add", "x@y.vn", "--role", "admin", cwd=tmp_path, env=env, stdin="short\n"
    )
    assert short.returncode == 2
    with Server(tmp_path, env) as server:
        r = httpx.post(
            f"{server.url}/api/auth/token",
            data={"username": "chu.tich@tinh.vn", "password": "s3cret-pass"},
        )
        assert r.status_code == 200
        me = httpx.get(
            f"{server.url}/api/auth/me",
            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        )
        assert me.json()["id"] == user_id and me.json()["role"] == "host"
