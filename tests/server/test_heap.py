"""The serving process's heap settings (server/heap.py) and where they are applied."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server import heap
from server.app import create_app
from server.settings import Settings
from shop.notify.log_notifier import KEPT, LogNotifier
from shop.notify.port import Message, MessageEvent


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # this test process builds many apps: nothing of it stays frozen
    gc.set_threshold(*thresholds)


def test_tune_and_settle(restored_gc: None) -> None:
    heap.tune()
    assert gc.get_threshold() == heap.THRESHOLDS
    before = gc.get_freeze_count()
    kept = [object() for _ in range(10)]
    keeper = {"kept": kept}  # a container: tracked by the collector, so frozen
    heap.settle()
    assert gc.get_freeze_count() > before
    assert keeper["kept"] is kept
    assert gc.get_count()[0] < 50  # settle collected before freezing


async def test_after_startup_runs_once_before_the_first_request(
    settings: Settings, restored_gc: None
) -> None:
    calls: list[bool] = []
    app = create_app(settings, after_startup=lambda: calls.append(hasattr(app.state, "services")))
    assert calls == []
    async with app.router.lifespan_context(app):
        assert calls == [True]  # the services were open when it ran
    assert calls == [True]


async def test_the_log_notifier_keeps_only_the_latest_messages() -> None:
    notifier = LogNotifier()
    refs = set()
    for i in range(KEPT + 5):
        message = Message(f"o{i}:received", "0912345678", MessageEvent.RECEIVED, {})
        refs.add(await notifier.send(message))
    assert len(notifier.sent) == KEPT
    assert notifier.sent[0].dedup_key == "o5:received"
    assert len(refs) == KEPT + 5  # each send its own reference, however many are kept


async def test_farmlive_serve_tunes_the_collector_and_settles_after_startup(
    settings: Settings, restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from server import cli

    served: list[object] = []
    settled: list[bool] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    monkeypatch.setattr(heap, "settle", lambda: settled.append(True))
    gc.set_threshold(700, 10, 10)
    assert cli._serve(settings, "127.0.0.1", 0, False) == 0
    assert gc.get_threshold() == heap.THRESHOLDS
    [app] = served
    assert settled == []
    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        assert settled == [True]
