"""Prometheus metrics of one server process, in a registry of its own (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("assist_events_total", "Events received, by type and status",
                              ["type", "status"], registry=r)
        self.prompts = Counter("assist_prompts_total", "Prompts fired, by phrasebook id and mode",
                               ["prompt", "mode"], registry=r)
        self.errors = Counter("assist_errors_total", "Errors, by kind", ["kind"], registry=r)
        self.prompt_latency = Histogram(
            "assist_message_to_prompt_seconds", "From a batch received to its records pushed to panels",
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0), registry=r)
        self.open_conversations = Gauge("assist_open_conversations", "Conversations open in this process",
                                        registry=r)
        self.panels = Gauge("assist_connected_panels", "Connected Socket.IO clients, by namespace",
                            ["namespace"], registry=r)
        self.phrasebook_errors = Gauge("assist_phrasebook_load_errors",
                                       "Errors in the last phrasebook load attempt (0 = good)", registry=r)

        self.phrasebook_reloads = Counter("assist_phrasebook_reloads_total",
                                          "Phrasebook reloads, applied or refused (the last good stays)",
                                          ["result"], registry=r)

        self.webhooks = Counter("assist_webhook_deliveries_total", "Outgoing webhook attempts, by result",
                                ["result"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
