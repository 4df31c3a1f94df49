"""OpenTelemetry metrics and spans for actors; imported only when asked for.

``opentelemetry-api`` is optional (``limelight[otel]``): ``import limelight``
never imports it, and :func:`instrument` says how to install it if missing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Coroutine, Iterable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import limelight
from limelight._core import _context
from limelight._core._observe import handled_count, live_actors, mailbox_depth

if TYPE_CHECKING:
    import contextvars

    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["Instrumentation", "instrument"]

_perf_counter = time.perf_counter


_active: Instrumentation | None = None
"""The instrumentation in force: a new one replaces it."""


class Instrumentation:
    """What :func:`instrument` set up; :meth:`close` undoes it."""

    def __init__(
        self,
        meter_provider: MeterProvider | None,
        tracer_provider: TracerProvider | None,
        *,
        spans: bool,
    ) -> None:
        from opentelemetry import metrics, trace  # noqa: PLC0415 -- optional

        global _active  # noqa: PLW0603 -- one instrumentation at a time
        if _active is not None:
            _active.close()  # replaced: the new one takes over
        _active = self
        self._closed = False
        meter = metrics.get_meter(
            "limelight", limelight.__version__, meter_provider=meter_provider
        )
        meter.create_observable_counter(
            "limelight.actor.messages",
            callbacks=[self._observe_messages],
            unit="{message}",
            description="Messages taken for handling by each live actor",
        )
        meter.create_observable_gauge(
            "limelight.actor.mailbox",
            callbacks=[self._observe_mailboxes],
            unit="{message}",
            description="Messages queued in each live actor's mailbox",
        )
        self._duration = meter.create_histogram(
            "limelight.message.duration",
            unit="s",
            description="Time an actor spent handling a message",
        )
        self._tracer: Tracer | None = (
            trace.get_tracer(
                "limelight", limelight.__version__, tracer_provider=tracer_provider
            )
            if spans
            else None
        )
        self._use_span = trace.use_span
        self._was_propagating = _context.propagating
        _context.propagating = True
        _context.observer = self._observe

    def close(self) -> None:
        """Stop recording: no more spans, durations or observations."""
        global _active  # noqa: PLW0603 -- one instrumentation at a time
        if self._closed:
            return
        self._closed = True
        _active = None
        _context.observer = None
        _context.propagating = self._was_propagating

    def _observations(self, value: Callable[[Any], int | None]) -> list[Observation]:
        from opentelemetry.metrics import Observation  # noqa: PLC0415 -- optional

        if self._closed:
            return []
        found: list[Observation] = []
        for actor in live_actors():
            number = value(actor)
            if number is not None:
                attributes = {
                    "limelight.actor.class": type(actor).__name__,
                    "limelight.actor.urn": actor.actor_urn,
                }
                found.append(Observation(number, attributes))
        return found

    def _observe_messages(self, _options: CallbackOptions) -> Iterable[Observation]:
        return self._observations(handled_count)

    def _observe_mailboxes(self, _options: CallbackOptions) -> Iterable[Observation]:
        return self._observations(lambda actor: mailbox_depth(actor.actor_inbox))

    def _observe(
        self,
        actor: Any,
        message: Any,
        dispatch: Callable[[Any, Any], Any],
        context: contextvars.Context,
    ) -> Any:
        """Handle `message`, timed, in a span of its own if spans are on."""
        attributes = {"limelight.actor.class": type(actor).__name__}
        start = _perf_counter()
        span: Span | None = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                f"{type(actor).__name__} handle {type(message).__name__}",
                attributes={
                    **attributes,
                    "limelight.actor.urn": actor.actor_urn,
                    "limelight.message.type": type(message).__name__,
                },
            )
        finished = True
        try:
            if span is None:
                result = dispatch(actor, message)
            else:
                with self._use_span(span, end_on_exit=False):
                    result = dispatch(actor, message)
            if result.__class__ is CoroutineType:
                finished = False
                awaited = self._finish(result, start, span, attributes)
                return _context.run_coroutine_in(awaited, context)
            return result
        finally:
            if finished:
                self._done(start, span, attributes)

    async def _finish(
        self,
        coroutine: Coroutine[Any, Any, Any],
        start: float,
        span: Span | None,
        attributes: dict[str, str],
    ) -> Any:
        try:
            if span is None:
                return await coroutine
            with self._use_span(span, end_on_exit=False):
                return await coroutine
        finally:
            self._done(start, span, attributes)

    def _done(
        self, start: float, span: Span | None, attributes: dict[str, str]
    ) -> None:
        self._duration.record(_perf_counter() - start, attributes)
        if span is not None:
            span.end()


def instrument(
    *,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
    spans: bool = False,
) -> Instrumentation:
    """Report actors to OpenTelemetry; turns on context propagation too."""
    try:
        importlib.import_module("opentelemetry.metrics")
    except ImportError as exc:
        msg = (
            "limelight.observe.instrument() needs opentelemetry-api: "
            "pip install 'limelight[otel]'"
        )
        raise ImportError(msg) from exc
    return Instrumentation(meter_provider, tracer_provider, spans=spans)
