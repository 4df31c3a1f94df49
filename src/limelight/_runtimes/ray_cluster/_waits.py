"""Deadlocks across Ray hosts: a keeper actor holds the program's graph.

Each host finds the deadlocks among its own actors in its own graph. For
cycles that run through several hosts (on one node or many), every host
reports each lasting wait of its actors to one Ray actor, the *keeper*
(``_remote/_waits.py``), and learns from its answer whether the wait closes
a cycle. The driver starts the keeper with its first Ray actor (it lives as
long as the driver's Ray connection) and kills it at ``shutdown()``; hosts
find it by name, in the driver's namespace.

Only Ray actors take part: a local actor of the driver cannot be reached
from a Ray worker, so no cycle runs through one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from limelight._core import _wait_graph
from limelight._core._exceptions import DeadlockError
from limelight._core._fork import released_at_fork
from limelight._remote._waits import ReportedWaits, Upstream
from limelight._runtimes.ray_cluster._future import ray

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = ["KEEPER_NAME", "Keeper", "RayLink", "kill_keeper", "report_from_host"]

KEEPER_NAME = "limelight-wait-keeper"
"""The Ray name of the keeper, in the namespace of the driver that started it."""


class Keeper(ReportedWaits):
    """The Ray actor that keeps the graph of the waits that hosts report.

    The remote layer's keeping side, but for one thing: a ``DeadlockError``
    is returned, not raised, so that the host raises it itself rather than
    Ray's wrapper of it.
    """

    def began(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride] -- the error is an answer here
        self,
        source: Hashable,
        token: int,
        waiter: tuple[str, str],
        producer: tuple[str, str],
    ) -> bool | DeadlockError:
        """Record a host's wait: a cycle to confirm (True), none, or the deadlock."""
        try:
            return super().began(source, token, waiter, producer)
        except DeadlockError as exc:
            return exc


class _Started:
    lock = released_at_fork(threading.Lock())
    keeper: ClassVar[Any] = None


def start_keeper() -> None:
    """Start the keeper, in the driver, unless it runs (called with each start)."""
    if _Started.keeper is not None:
        return
    with _Started.lock:
        if _Started.keeper is None:  # pragma: no branch -- a race
            # (One call at a time, in order: no lock needed in it.)
            _Started.keeper = (
                ray()
                .remote(Keeper)
                .options(name=KEEPER_NAME, get_if_exists=True, num_cpus=0)
                .remote()
            )


def kill_keeper() -> None:
    """Kill the keeper this process started, if any (at ``shutdown()``)."""
    with _Started.lock:
        keeper, _Started.keeper = _Started.keeper, None
    if keeper is not None:
        ray().kill(keeper)


class RayLink:
    """A host's way to the keeper (a ``Link``): calls on it, found by name.

    A keeper that cannot be reached (none was started, or it has died with
    the driver's ``shutdown()``) is asked nothing: the waits are not
    reported, and cycles across hosts go unseen, as without a keeper.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._keeper: Any = None

    def _call(self, method: str, *args: Any) -> Any:
        """``keeper.method(*args)``, waited for; None if it cannot be reached."""
        try:
            if self._keeper is None:
                self._keeper = ray().get_actor(KEEPER_NAME)
            return ray().get(getattr(self._keeper, method).remote(*args))
        except Exception:  # noqa: BLE001 -- no keeper (ValueError), or a dead one
            self._keeper = None  # (look it up again next time)
            return None

    def began(
        self, token: int, waiter: tuple[str, str], producer: tuple[str, str], /
    ) -> bool:
        answer = self._call("began", self._source, token, waiter, producer)
        if isinstance(answer, DeadlockError):
            raise answer
        return bool(answer)

    def confirm(self, token: int, /) -> DeadlockError | None:
        answer: DeadlockError | None = self._call("confirm", self._source, token)
        return answer

    def ended(self, token: int, /) -> None:
        keeper = self._keeper
        if keeper is not None:  # (else began() found none: nothing to end)
            keeper.ended.remote(self._source, token)


def report_from_host() -> None:
    """In a host's Ray worker: report its actors' waits to the keeper."""
    context = ray().get_runtime_context()
    source = context.get_actor_id()
    if source is not None:  # (None: a host made in-process, by a test)
        _wait_graph.report_to(Upstream(RayLink(source)))
