"""Prometheus metrics, one registry per app so several apps can live in one test process."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.orders = Counter(
            "farmlive_orders_total", "Order placement outcomes", ["outcome"], registry=self.registry
        )
        self.order_latency = Histogram(
            "farmlive_order_seconds",
            "Time to place an order (validation to committed)",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.ws_clients = Gauge(
            "farmlive_ws_clients", "Live WebSocket clients on this instance", registry=self.registry
        )
        self.ws_dropped = Counter(
            "farmlive_ws_dropped_total",
            "Clients dropped for falling behind",
            registry=self.registry,
        )
        self.outbox_applied = Counter(
            "farmlive_outbox_applied_total",
            "Outbox side effects applied",
            ["kind"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "farmlive_rate_limited_total",
            "Requests refused by an abuse limit (server/abuse.py)",
            ["limit"],
            registry=self.registry,
        )
        self.gate_rebuilds = Counter(
            "farmlive_gate_rebuilds_total",
            "Inventory gate rebuilds from SQL",
            registry=self.registry,
        )
