"""See inside a running actor system: snapshots, ``limelight top``, telemetry.

- [`snapshot()`][limelight.observe.snapshot]: what every live actor is doing
  now, one [`ActorInfo`][limelight.observe.ActorInfo] each. Always on: each
  actor keeps a counter and a timestamp per message.
- [`serve()`][limelight.observe.serve]: serve snapshots on a Unix socket
  (mode 0600) for ``limelight top``, in another terminal.
- [`propagate_context()`][limelight.observe.propagate_context]: make the
  sender's ``contextvars`` context follow each message into its handler.
- [`instrument()`][limelight.observe.instrument]: OpenTelemetry metrics, and
  spans if asked for (needs ``opentelemetry-api``: ``limelight[otel]``).

See the [operations guide](../operations.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from limelight._core import _context
from limelight._core._observe import ActorInfo, ActorState, snapshot
from limelight._endpoint import Endpoint, default_socket_path, serve

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from limelight._otel import Instrumentation

__all__ = [
    "ActorInfo",
    "ActorState",
    "Endpoint",
    "default_socket_path",
    "instrument",
    "propagate_context",
    "serve",
    "snapshot",
]


def propagate_context(enabled: bool = True) -> bool:
    """Make the sender's ``contextvars`` context follow each message, or stop.

    While on, ``tell()``, ``ask()`` and proxy calls take a copy of the
    sender's context (``contextvars.copy_context()``, which is cheap), and
    the handler runs inside it, on every runtime; an ``async def`` handler's
    every step too. So context variables, and what lives in them (the
    current OpenTelemetry span, a logging correlation id), flow from sender
    to handler. What the handler sets stays in its copy. Messages already
    queued keep whatever they were sent with.

    Off by default: it costs an allocation and a context switch per message.

    Args:
        enabled: on (the default) or off.

    Returns:
        Whether it was on before.
    """
    before = _context.propagating
    _context.propagating = bool(enabled)
    return before


def instrument(
    *,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
    spans: bool = False,
) -> Instrumentation:
    """Report actors to OpenTelemetry, through ``opentelemetry-api``.

    Sets up, on the meter named ``limelight``:

    - ``limelight.actor.messages``: an observable counter of the messages
      each live actor has taken (attributes ``limelight.actor.class`` and
      ``limelight.actor.urn``);
    - ``limelight.actor.mailbox``: an observable gauge of each live actor's
      queued messages;
    - ``limelight.message.duration``: a histogram of handling times, in
      seconds, by ``limelight.actor.class``.

    With `spans`, each message is handled in a span of its own, named
    ``"Class handle MessageType"``, a child of the sender's current span.
    Turns [`propagate_context()`][limelight.observe.propagate_context] on,
    which durations and spans need; ``close()`` on the result turns it back.

    Args:
        meter_provider: where metrics go; the global provider by default.
        tracer_provider: where spans go; the global provider by default.
        spans: make a span per handled message.

    Returns:
        An ``Instrumentation``, whose ``close()`` stops recording.

    Raises:
        ImportError: if ``opentelemetry-api`` is not installed.
    """
    from limelight._otel import instrument as _instrument  # noqa: PLC0415 -- optional

    return _instrument(
        meter_provider=meter_provider, tracer_provider=tracer_provider, spans=spans
    )
