"""The 2011 home of the registry: ``from limelight.registry import ActorRegistry``."""

from limelight._core._registry import ActorRegistry

__all__ = ["ActorRegistry"]
