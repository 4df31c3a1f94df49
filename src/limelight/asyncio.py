"""Actors on asyncio event loops.

```python
import asyncio
from limelight.asyncio import AsyncioActor


class Greeter(AsyncioActor):
    async def greet(self, name: str) -> str:
        await asyncio.sleep(0.1)  # other tasks run meanwhile
        return f"Hello, {name}!"


async def main() -> None:
    async with Greeter.start() as greeter:   # stopped when the block ends
        print(await greeter.proxy().greet("Ada"))


asyncio.run(main())
```

Any Limelight future, of any runtime, can be awaited without blocking the
loop; this module adds actors that live *on* a loop. They cost no thread,
and no task while idle.
"""

from limelight._runtimes.event_loop.runtime import AsyncioActor, AsyncioFuture

__all__ = ["AsyncioActor", "AsyncioFuture"]
