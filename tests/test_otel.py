"""limelight.observe.instrument(): OpenTelemetry metrics and spans."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs opentelemetry-sdk")

from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

import limelight
import limelight.asyncio
import limelight.observe
from limelight._core import _context
from limelight._otel import Instrumentation
from tests.conformance.actors import TIMEOUT


class Echo(limelight.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise ValueError(message)
        return message


class AsyncEcho(limelight.asyncio.AsyncioActor):
    async def on_receive(self, message: Any) -> Any:
        await asyncio.sleep(0)
        if message == "fail":
            raise ValueError(message)
        return message


class Telemetry:
    def __init__(self, *, spans: bool) -> None:
        self.reader = InMemoryMetricReader()
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.instrumentation = limelight.observe.instrument(
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            tracer_provider=self.tracer_provider,
            spans=spans,
        )

    def metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:  # nothing observed at all
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    made = Telemetry(spans=True)
    yield made
    made.instrumentation.close()


def test_messages_mailboxes_and_durations_are_measured(telemetry: Telemetry) -> None:
    ref = Echo.start()
    for number in range(3):
        assert ref.ask(number, timeout=TIMEOUT) == number

    metrics = telemetry.metrics()

    messages = [
        point
        for point in metrics["limelight.actor.messages"]
        if point.attributes["limelight.actor.urn"] == ref.actor_urn
    ]
    assert [point.value for point in messages] == [3]
    mailboxes = [
        point
        for point in metrics["limelight.actor.mailbox"]
        if point.attributes["limelight.actor.urn"] == ref.actor_urn
    ]
    assert [point.value for point in mailboxes] == [0]
    (durations,) = [
        point
        for point in metrics["limelight.message.duration"]
        if point.attributes["limelight.actor.class"] == "Echo"
    ]
    assert durations.count == 3


def test_a_span_per_message_is_a_child_of_the_senders_span(
    telemetry: Telemetry,
) -> None:
    ref = Echo.start()
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request") as parent:
        assert ref.ask("hi", timeout=TIMEOUT) == "hi"
        with pytest.raises(ValueError, match="fail"):
            ref.ask("fail", timeout=TIMEOUT)

    handled = [span for span in telemetry.spans() if span.name == "Echo handle str"]
    assert len(handled) == 2
    for span in handled:
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.attributes is not None
        assert span.attributes["limelight.actor.urn"] == ref.actor_urn
    assert handled[1].status.status_code is StatusCode.ERROR


def test_a_pools_members_are_measured_and_traced_as_any_actor(
    telemetry: Telemetry,
) -> None:
    pool = limelight.Pool.start(Echo, 2)
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request") as parent:
        assert pool.map(lambda n: n, range(4), timeout=TIMEOUT) == [0, 1, 2, 3]
        assert pool.proxy().on_receive("hi").get(TIMEOUT) == "hi"

    handled = [span for span in telemetry.spans() if span.name == "Echo handle int"]
    assert len(handled) == 4
    assert {span.parent.span_id for span in handled if span.parent} == {
        parent.get_span_context().span_id
    }
    members = {member.actor_urn for member in pool.members}
    assert {span.attributes["limelight.actor.urn"] for span in handled} == members  # type: ignore[index]
    messages = {
        point.attributes["limelight.actor.urn"]: point.value
        for point in telemetry.metrics()["limelight.actor.messages"]
    }
    # The four items, the proxy call, and the pool's check that each started.
    assert sum(messages[urn] for urn in members) == 4 + 1 + 2
    pool.stop()


def test_an_async_handlers_span_covers_its_awaits(telemetry: Telemetry) -> None:
    ref = AsyncEcho.start()
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request") as parent:
        assert ref.ask("hi", timeout=TIMEOUT) == "hi"
        with pytest.raises(ValueError, match="fail"):
            ref.ask("fail", timeout=TIMEOUT)

    handled = [s for s in telemetry.spans() if s.name == "AsyncEcho handle str"]
    assert [span.parent.span_id for span in handled if span.parent] == [
        parent.get_span_context().span_id
    ] * 2
    assert handled[1].status.status_code is StatusCode.ERROR


def test_without_spans_durations_are_still_measured() -> None:
    telemetry = Telemetry(spans=False)
    try:
        Echo.start().ask("x", timeout=TIMEOUT)
        AsyncEcho.start().ask("x", timeout=TIMEOUT)
        with pytest.raises(ValueError, match="fail"):
            AsyncEcho.start().ask("fail", timeout=TIMEOUT)
    finally:
        telemetry.instrumentation.close()

    assert telemetry.spans() == ()
    counts = {
        point.attributes["limelight.actor.class"]: point.count
        for point in telemetry.metrics()["limelight.message.duration"]
    }
    assert counts == {"Echo": 1, "AsyncEcho": 2}


def propagating() -> bool:
    return _context.propagating


def observer() -> object:
    return _context.observer


def test_closing_stops_recording_and_restores_propagation() -> None:
    assert limelight.observe.propagate_context(enabled=False) is False
    telemetry = Telemetry(spans=True)
    assert propagating()

    telemetry.instrumentation.close()
    telemetry.instrumentation.close()  # twice: harmless

    assert not propagating()
    assert _context.observer is None
    Echo.start().ask("x", timeout=TIMEOUT)
    assert telemetry.spans() == ()
    assert "limelight.actor.messages" not in telemetry.metrics()


def test_an_actor_without_a_value_is_not_observed(telemetry: Telemetry) -> None:
    Echo.start()

    assert telemetry.instrumentation._observations(lambda _actor: None) == []


def test_a_new_instrumentation_replaces_the_one_in_force() -> None:
    older = Telemetry(spans=False)
    newer = Telemetry(spans=False)
    try:
        assert propagating()
        older.instrumentation.close()  # closed already, by its replacement
        assert observer() is not None
    finally:
        newer.instrumentation.close()
    assert observer() is None
    assert not propagating()  # as before either


def test_without_opentelemetry_instrument_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)

    with pytest.raises(ImportError, match=r"pip install 'limelight\[otel\]'"):
        limelight.observe.instrument()


def test_the_global_providers_are_used_by_default() -> None:
    instrumentation = limelight.observe.instrument()
    try:
        assert isinstance(instrumentation, Instrumentation)
        assert trace.get_tracer_provider() is not None
    finally:
        instrumentation.close()
