"""The runtime-agnostic kernel of Limelight.

Everything that defines what an actor *means* lives here: the message loop's
semantics, refs, proxies, futures, the registry. A runtime (threads, asyncio,
...) supplies only an inbox, a way to run the actor's loop, and a way for a
caller to block; see :mod:`limelight._core._runtime`.

Nothing in this package may import a runtime module.
"""
