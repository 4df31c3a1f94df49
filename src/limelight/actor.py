"""The 2011 home of actors: ``from limelight.actor import ThreadingActor``."""

from limelight._core._actor import Actor
from limelight._core._ref import ActorRef
from limelight._runtimes.threads import ThreadingActor

__all__ = ["Actor", "ActorRef", "ThreadingActor"]
