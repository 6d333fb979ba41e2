"""Prometheus metrics, one registry per process (tests build their own)."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "exitbot_messages_handled", "Inbound messages handled", ["channel"], registry=r
        )
        self.turn_seconds = Histogram(
            "exitbot_turn_seconds",
            "Time to process one inbound message (engine + storage)",
            ["channel"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.batch_turns = Histogram(
            "exitbot_turn_batch_size",
            "Turns the turn writer stored together in one transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.webhooks = Counter(
            "exitbot_webhooks", "Departure webhooks by outcome", ["outcome"], registry=r
        )
        self.invites = Counter("exitbot_invites_sent", "Invites sent", ["channel"], registry=r)
        self.reminders = Counter("exitbot_reminders_sent", "Reminders sent", ["kind"], registry=r)
        self.digests = Counter("exitbot_digests_posted", "Digests posted", registry=r)
        self.unreachable = Counter(
            "exitbot_unreachable_employees", "Employees no channel could reach", registry=r
        )
        self.errors = Counter(
            "exitbot_errors", "Errors by where they happened", ["where"], registry=r
        )

    def observe_turn(self, channel: str, duration: timedelta) -> None:
        self.messages.labels(channel).inc()
        self.turn_seconds.labels(channel).observe(duration.total_seconds())

    def observe_batch(self, turns: int) -> None:
        self.batch_turns.observe(turns)

    def render(self) -> bytes:
        return generate_latest(self.registry)
