"""The 2011 home of proxies: ``from limelight.proxy import ActorProxy``."""

from limelight._core._proxy import ActorProxy, CallableProxy, traversable

__all__ = ["ActorProxy", "CallableProxy", "traversable"]
