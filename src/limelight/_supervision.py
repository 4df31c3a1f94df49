"""Supervisors: actors that start other actors, and restart them when they fail."""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast, get_args

from limelight._core import _awaiting
from limelight._core._actor import Actor
from limelight._core._exceptions import ActorDeadError, Timeout
from limelight._core._log import logger
from limelight._core._ref import ActorRef
from limelight._runtimes.threads import ThreadingActor
from limelight.messages import ProxyGetAttr, Terminated

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ChildSpec",
    "RestartType",
    "Strategy",
    "Supervisor",
    "TooManyRestartsError",
    "check_count",
    "check_seconds",
]


RestartType = Literal["permanent", "transient", "temporary"]
"""When a child is restarted: always, only after a failure or kill, or never."""

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
"""Which children are restarted when one ends: it, all, or it and those after it."""

# Answered by any actor once it has started: it reads an attribute every actor has.
_STARTED = ProxyGetAttr(("actor_urn",))


class _Restart(NamedTuple):
    """Try again to start these children, in order (told by a supervisor itself).

    A restart that fails is tried again as a message of its own, not in a
    loop in the handler: meanwhile, the supervisor answers what is queued.
    """

    specs: tuple[ChildSpec, ...]


_RESTART_TYPES: tuple[str, ...] = get_args(RestartType)
_STRATEGIES: tuple[str, ...] = get_args(Strategy)


@dataclass(frozen=True)
class ChildSpec:
    """How a [`Supervisor`][limelight.Supervisor] starts one of its children.

    ```python
    ChildSpec("db", Database, args=("postgres://...",))
    ChildSpec("cache", Cache, restart="transient")
    ChildSpec("workers", limelight.Supervisor, kwargs={"children": [...]})
    ```
    """

    name: str
    """Names the child within its supervisor: ``supervisor.child(name)``."""

    start: type[Actor] | Callable[..., ActorRef[Any]]
    """An actor class, started with `args` and `kwargs`; or any function
    that takes `args` and `kwargs`, starts an actor and returns its ref."""

    args: tuple[Any, ...] = ()
    """Positional arguments for `start`."""

    kwargs: Mapping[str, Any] = field(default_factory=dict[str, Any])
    """Keyword arguments for `start`."""

    restart: RestartType = "permanent"
    """``"permanent"``: restarted whenever it ends, even normally;
    ``"transient"``: restarted only when it fails or is killed;
    ``"temporary"``: never restarted."""

    shutdown_timeout: float | None = 5.0
    """Seconds the child gets to stop when its supervisor stops it; then it
    is killed. `None` waits as long as it takes."""

    def __post_init__(self) -> None:
        name = cast("object", self.name)  # (checked: callers may pass anything)
        if not isinstance(name, str) or not name:
            msg = f"a child's name must be a non-empty string, not {self.name!r}"
            raise ValueError(msg)
        start: object = self.start
        if not callable(start):
            msg = (
                f"child {self.name!r}: start must be an actor class or a function "
                f"returning an ActorRef, not {self.start!r}"
            )
            raise TypeError(msg)
        if self.restart not in _RESTART_TYPES:
            msg = (
                f"child {self.name!r}: restart must be one of "
                f"{', '.join(map(repr, _RESTART_TYPES))}, not {self.restart!r}"
            )
            raise ValueError(msg)
        check_seconds(f"child {self.name!r}: shutdown_timeout", self.shutdown_timeout)

    def _start(self) -> ActorRef[Any]:
        start = self.start
        if isinstance(start, type) and issubclass(start, Actor):
            return start.start(*self.args, **self.kwargs)
        ref: object = start(*self.args, **self.kwargs)
        if not isinstance(ref, ActorRef):
            msg = (
                f"child {self.name!r}: {start!r} returned {ref!r}, not the "
                "ActorRef of the actor it started"
            )
            raise TypeError(msg)
        return ref  # pyright: ignore[reportUnknownVariableType] -- any ActorRef


class TooManyRestartsError(Exception):
    """A supervisor's children failed more often than its restart limit allows.

    The supervisor has stopped its remaining children and fails with this,
    so that its own supervisor, if any, can deal with it in turn.
    """


class Supervisor(ThreadingActor):
    """An actor that starts children, watches them, and restarts them as told.

    ```python
    supervisor = limelight.Supervisor.start(
        [
            limelight.ChildSpec("db", Database, args=(url,)),
            limelight.ChildSpec("api", Api, restart="transient"),
        ],
        strategy="rest_for_one",
        max_restarts=3,
        within=5.0,
    )
    db = supervisor.proxy().child("db").get()
    ```

    Children start in order, each once the one before has finished its
    ``on_start()``.
    When a child ends, the `strategy` decides what is restarted:
    ``"one_for_one"`` restarts that child; ``"one_for_all"`` stops the other
    children (in reverse order) and restarts them all; ``"rest_for_one"``
    does so for the children started after it. A child's
    [`restart`][limelight.ChildSpec.restart] type decides whether its end
    calls for a restart at all.

    More than `max_restarts` restarts within `within` seconds means
    restarting does not help: the supervisor stops all its children and
    fails with [`TooManyRestartsError`][limelight.TooManyRestartsError], for
    its own supervisor to handle. Supervisors nest: a child may be a
    supervisor.

    A restarted child is a new actor with a new ref: the old ref stays dead
    (its asks fail with [`ActorDeadError`][limelight.ActorDeadError]), and
    messages that were queued for the old one are not handed over: asks
    among them fail with ``ActorDeadError``, and the rest are rejected as a
    stopped actor's are. Ask the supervisor for the current ref with
    [`child()`][limelight.Supervisor.child].

    Stopping the supervisor stops its children first, in reverse start
    order. Children are linked to their supervisor: if it is killed, they
    crash with it, so none is left running unsupervised.

    The supervisor runs in a thread of its own; its children may be actors
    of any runtime.
    """

    trap_exits = True  # children's ends arrive as Terminated messages

    restarts: int
    """How many restarts the supervisor has made so far."""

    def __init__(
        self,
        children: Iterable[ChildSpec],
        *,
        strategy: Strategy = "one_for_one",
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> None:
        super().__init__()
        specs = list(children)
        for spec in specs:
            if not isinstance(cast("object", spec), ChildSpec):
                msg = f"children must be ChildSpec objects, not {spec!r}"
                raise TypeError(msg)
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            msg = f"child names must be unique within a supervisor: {duplicates}"
            raise ValueError(msg)
        if strategy not in _STRATEGIES:
            msg = (
                f"strategy must be one of {', '.join(map(repr, _STRATEGIES))}, "
                f"not {strategy!r}"
            )
            raise ValueError(msg)
        check_count("max_restarts", max_restarts, minimum=0)
        check_seconds("within", within, allow_none=False)
        self._limelight_specs = specs
        self._limelight_strategy = strategy
        self._limelight_max_restarts = max_restarts
        self._limelight_within = within
        self._limelight_refs: dict[str, ActorRef[Any]] = {}  # running children, by name
        self._limelight_restart_times: collections.deque[float] = collections.deque()
        self.restarts = 0
        # How many times each child was started, by name (for introspection).
        self._limelight_starts: dict[str, int] = {}
        # Whether the child started last ended before its on_start() was over.
        self._limelight_start_failed = False

    # -- Public, through a proxy or from the actor itself ---------------------

    def child(self, name: str) -> ActorRef[Any] | None:
        """Return the ref of the running child called `name`, or `None`.

        Raises:
            KeyError: if the supervisor has no child called `name`.
        """
        self._limelight_spec(name)
        return self._limelight_refs.get(name)

    def which_children(self) -> list[tuple[str, ActorRef[Any] | None]]:
        """Return each child's name and ref (`None` if not running), in start order."""
        return [
            (spec.name, self._limelight_refs.get(spec.name))
            for spec in self._limelight_specs
        ]

    def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """Add a child after the others, start it, and return its ref.

        Raises:
            ValueError: if a child with the same name exists.
        """
        if any(known.name == spec.name for known in self._limelight_specs):
            msg = f"{self} already has a child called {spec.name!r}"
            raise ValueError(msg)
        ref = self._limelight_start_child(spec)
        self._limelight_specs.append(spec)
        return ref

    def stop_child(self, name: str) -> None:
        """Stop the child called `name` and forget it: it is not restarted.

        Raises:
            KeyError: if the supervisor has no child called `name`.
        """
        spec = self._limelight_spec(name)
        self._limelight_stop_children([spec])
        self._limelight_specs.remove(spec)

    # -- Life cycle -------------------------------------------------------------

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # pyright: ignore[reportIncompatibleMethodOverride] -- the same signature as Actor.start(); pyright binds Self apart
        """Start the supervisor and its children; return once all have started.

        Each child has been created and has finished its ``on_start()``
        when this returns, or the supervisor has failed: a child that
        cannot start on its first try fails the supervisor, which stops the
        children started before it, and this raises the child's error.

        Called in a running event loop, it returns at once instead, since
        waiting would block the loop that its children may need to start:
        a failure then shows in [`termination()`][limelight.ActorRef.termination].

        Raises:
            Exception: whatever the first child that could not start raised,
                in its ``__init__()``, its ``on_start()`` or its `start`
                function: the child's own exception, not a wrapper.
            ActorDeadError: if the supervisor was stopped or killed before
                its children had started.
            TypeError, ValueError: for bad arguments to the supervisor itself.
        """
        ref = super().start(*args, **kwargs)
        if _awaiting.on_event_loop():
            return ref
        try:
            ref.ask(_STARTED)
        except ActorDeadError as dead:
            error: BaseException = dead
        else:
            return ref
        # (Out of the handler: the child's error is raised as it was made,
        # without this ActorDeadError as its context.)
        raise ref.termination().get().exception or error

    def on_start(self) -> None:
        try:
            for spec in self._limelight_specs:
                ref = self._limelight_start_child(spec)
                if self._limelight_start_failed:
                    # It ended in its on_start(): if it failed, it cannot
                    # start, and neither can its supervisor. (Its end may
                    # be learnt a little later than the refused ask: from
                    # another process, say.)
                    failure = ref.termination().get().exception
                    if failure is not None:
                        raise failure
        except BaseException:
            self._limelight_stop_children(reversed(self._limelight_specs))
            raise

    def on_stop(self) -> None:
        self._limelight_stop_children(reversed(self._limelight_specs))

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._limelight_stop_children(reversed(self._limelight_specs))

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Terminated):
            self._limelight_child_ended(message)
            return None
        if isinstance(message, _Restart):
            # (Those stopped, or started, since: not again.)
            self._limelight_restart(
                [
                    spec
                    for spec in message.specs
                    if spec in self._limelight_specs
                    and spec.name not in self._limelight_refs
                ]
            )
            return None
        return super().on_receive(message)

    # -- Restarting -------------------------------------------------------------

    def _limelight_child_ended(self, terminated: Terminated) -> None:
        spec = next(
            (
                spec
                for spec in self._limelight_specs
                if self._limelight_refs.get(spec.name) == terminated.actor_ref
            ),
            None,
        )
        if spec is None:
            return  # a child that was stopped on purpose, or replaced already
        del self._limelight_refs[spec.name]
        if spec.restart == "temporary" or (
            spec.restart == "transient" and terminated.reason == "normal"
        ):
            logger.info(
                "Child %r of %s ended (%s): not restarted, as a %s child",
                spec.name,
                self,
                terminated.reason,
                spec.restart,
            )
            return
        index = self._limelight_specs.index(spec)
        if self._limelight_strategy == "one_for_one":
            affected = [spec]
        elif self._limelight_strategy == "one_for_all":
            affected = list(self._limelight_specs)
        else:
            affected = self._limelight_specs[index:]
        # Temporary children are stopped along with the others, not restarted.
        to_restart = [
            other
            for other in affected
            if other is spec
            or (other.name in self._limelight_refs and other.restart != "temporary")
        ]
        self._limelight_stop_children(reversed(affected))
        # One restart, however many children it takes; each failed attempt
        # to start one counts as one more.
        self._limelight_count_restart()
        # A decision the user wants to see without configuring logging
        # (WARNING reaches stderr by default); the crash itself was logged
        # at ERROR, with its traceback, by the child.
        logger.warning(
            "Child %r of %s ended (%s): restarting %s (%s; restart %d of at most "
            "%d within %s s)",
            spec.name,
            self,
            terminated.reason,
            ", ".join(repr(other.name) for other in to_restart),
            self._limelight_strategy,
            len(self._limelight_restart_times),
            self._limelight_max_restarts,
            self._limelight_within,
        )
        self._limelight_restart(to_restart)

    def _limelight_restart(self, specs: list[ChildSpec]) -> None:
        """Start these children in order; if one fails, try it (and the rest) again.

        Again as a message of its own (`_Restart`): a start may take long to
        fail (a Ray actor that no node can place), and the supervisor must
        answer meanwhile. Each failed attempt counts as a restart, so a
        child that cannot start makes the supervisor give up in the end.
        """
        for index, spec in enumerate(specs):
            try:
                self._limelight_start_child(spec)
            except Exception:
                logger.exception("Restarting child %r of %s failed", spec.name, self)
                self._limelight_count_restart()
                self.actor_ref.tell(_Restart(tuple(specs[index:])))
                return

    def _limelight_count_restart(self) -> None:
        """Note one more restart; give up if that is too many."""
        now = time.monotonic()
        times = self._limelight_restart_times
        times.append(now)
        while times and times[0] < now - self._limelight_within:
            times.popleft()
        if len(times) > self._limelight_max_restarts:
            msg = (
                f"{self} gave up: more than {self._limelight_max_restarts} restarts "
                f"within {self._limelight_within} seconds"
            )
            self._limelight_stop_children(reversed(self._limelight_specs))
            raise TooManyRestartsError(msg)
        self.restarts += 1

    # -- Children ---------------------------------------------------------------

    def _limelight_spec(self, name: str) -> ChildSpec:
        for spec in self._limelight_specs:
            if spec.name == name:
                return spec
        names = [spec.name for spec in self._limelight_specs]
        msg = f"{self} has no child called {name!r}; it has {names}"
        raise KeyError(msg)

    def _limelight_start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        ref = spec._start()
        ref._owner = self.actor_ref
        self._limelight_refs[spec.name] = ref
        self._limelight_starts[spec.name] = self._limelight_starts.get(spec.name, 0) + 1
        self.link(ref)
        # Wait for its on_start() to be over, so that children start one
        # after another. If it fails there, the link tells, as for any end.
        try:
            ref.ask(_STARTED)
        except ActorDeadError:
            self._limelight_start_failed = True
        except BaseException:
            # Whether it started is unknown (its Ray host was cut off, say):
            # end it, so that the next start does not run a second beside it.
            # (Its end, as a child no longer held, is ignored.)
            del self._limelight_refs[spec.name]
            ref.kill()
            raise
        else:
            self._limelight_start_failed = False
        return ref

    def _limelight_stop_children(self, specs: Iterable[ChildSpec]) -> None:
        """Stop the running ones of `specs`, in the order given, each fully."""
        for spec in specs:
            ref = self._limelight_refs.pop(spec.name, None)
            if ref is None:
                continue
            self.unlink(ref)  # stopped on purpose: not news to act on
            try:
                ref.stop(timeout=spec.shutdown_timeout)
            except Timeout:
                logger.warning(
                    "Child %r of %s did not stop within %s s: killing it",
                    spec.name,
                    self,
                    spec.shutdown_timeout,
                )
                ref.kill()


def check_count(what: str, count: int, *, minimum: int) -> None:
    """Raise a clear error unless `count` is an int (no bool) of `minimum` or more."""
    value = cast("object", count)  # (checked: callers may pass anything)
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} must be an int, not {count!r}"
        raise TypeError(msg)
    if count < minimum:
        msg = f"{what} must be {minimum} or more, not {count}"
        raise ValueError(msg)


def check_seconds(what: str, seconds: float | None, *, allow_none: bool = True) -> None:
    value: object = seconds
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = f"{what} must be a positive number of seconds, not {value!r}"
        raise ValueError(msg)
