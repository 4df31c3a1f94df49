"""Actors on an event loop: the asyncio runtime and the driver it shares.

- ``driver.py``: an actor on a loop, run as callbacks (a task only while a
  handler awaits), with the semantics of the blocking driver.
- ``runtime.py``: the asyncio runtime: its actor and future classes, the
  shared background loop for actors started outside one.
- ``awaiting.py``: how a coroutine awaits any Limelight future without
  blocking its loop, installed into the core at ``import limelight``.

This package's ``__init__`` imports nothing, so that importing
``awaiting.py`` does not import :mod:`asyncio`.
"""
