"""A small client for e2e tests: set up a sale on a running server and hammer it with orders."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bench.httpload import run_requests

DEMO_PASSWORD = "farmlive-demo"


def token(url: str, email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    r = httpx.post(
        f"{url}/api/auth/token", data={"username": email, "password": password}, timeout=10
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class Sale:
    sid: int
    offer_id: int
    lot_id: int
    stock_grams: int


def set_up_sale(url: str, boxes: int, pack_grams: int = 5000) -> Sale:
    """With the demo accounts: a new lot of `boxes` packs, a live session selling it."""
    coop = token(url, "coop@farmlive.local")
    host = token(url, "host@farmlive.local")
    coop_id = httpx.get(f"{url}/api/auth/me", headers=coop).json()["cooperative_id"]
    lot = httpx.post(
        f"{url}/api/lots",
        json={
            "cooperative_id": coop_id,
            "product": "Vải thiều đua",
            "stock_grams": boxes * pack_grams,
        },
        headers=coop,
    ).json()
    session = httpx.post(f"{url}/api/sessions", json={"title": "Phiên đua"}, headers=host).json()
    httpx.post(
        f"{url}/api/sessions/{session['id']}/lots", json={"lot_id": lot["id"]}, headers=coop
    ).raise_for_status()
    httpx.put(
        f"{url}/api/sessions/{session['id']}/streamer",
        json={"full_name": "Nguyễn Văn A", "id_number": "001099012345"},
        headers=host,
    ).raise_for_status()
    offer = httpx.post(
        f"{url}/api/sessions/{session['id']}/offers",
        json={
            "lot_id": lot["id"],
            "title": "Thùng 5 kg",
            "pack_grams": pack_grams,
            "price": 250_000,
        },
        headers=host,
    ).json()
    httpx.post(f"{url}/api/sessions/{session['id']}/start", headers=host).raise_for_status()
    return Sale(session["id"], offer["id"], lot["id"], boxes * pack_grams)


def order_body(offer_id: int, i: int, method: str = "cod") -> dict[str, Any]:
    return {
        "offer_id": offer_id,
        "quantity": 1,
        "buyer": {
            "name": f"Người mua {i}",
            "phone": f"09{i % 100_000_000:08d}",
            "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": f"Số {i}"},
        },
        "payment_method": method,
    }


async def place_many(
    urls: list[str], sale: Sale, count: int, *, method: str = "cod", retries: int = 0
) -> list[tuple[int, dict[str, Any]]]:
    """`count` concurrent orders spread over `urls` (a lean client: httpx would be the
    bottleneck); failures and 503s are retried `retries` times with the same key."""
    bodies = [json.dumps(order_body(sale.offer_id, i, method)).encode() for i in range(count)]
    keys = [str(uuid.uuid4()) for _ in range(count)]
    results: list[tuple[int, dict[str, Any]]] = [(0, {})] * count
    todo = list(range(count))
    for attempt in range(retries + 1):
        by_url: dict[int, list[int]] = {}
        for n, i in enumerate(todo):
            by_url.setdefault((n + attempt) % len(urls), []).append(i)
        batches = await asyncio.gather(
            *[
                run_requests(
                    urls[u],
                    [
                        (
                            "POST",
                            f"/api/sessions/{sale.sid}/orders",
                            bodies[i],
                            {"Idempotency-Key": keys[i]},
                        )
                        for i in idx
                    ],
                    connections=100,
                )
                for u, idx in by_url.items()
            ]
        )
        todo = []
        for (_, idx), responses in zip(by_url.items(), batches, strict=True):
            for i, r in zip(idx, responses, strict=True):
                if isinstance(r, BaseException):
                    results[i] = (0, {})
                    todo.append(i)
                else:
                    results[i] = (r.status, r.json() or {})
                    if r.status == 503:
                        todo.append(i)
        if not todo:
            break
        await asyncio.sleep(0.5)
    return results


def stats(url: str, sid: int) -> dict[str, Any]:
    return httpx.get(f"{url}/api/sessions/{sid}/stats", timeout=10).json()
