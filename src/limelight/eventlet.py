"""Actors as greenlets on eventlet: install with ``pip install 'limelight[eventlet]'``.

```python
import eventlet
from limelight.eventlet import EventletActor


class Fetcher(EventletActor):
    def fetch(self, delay: float) -> str:
        eventlet.sleep(delay)  # the hub's other green threads, and actors, run
        return "fetched"


def main() -> None:
    fetcher = Fetcher.start().proxy()  # in this green thread's hub
    print(fetcher.fetch(0.1).get())    # waits cooperatively
    fetcher.stop()


eventlet.spawn(main).wait()
```

An actor costs a greenlet, not a thread. Started from a green thread, it
lives in that green thread's hub; started from plain code, in a hub that
Limelight runs in a background thread. ``import limelight`` alone never
imports eventlet: only importing this module does. eventlet itself is in
maintenance mode (it warns so when imported); see the
[eventlet guide](../eventlet.md) for when to choose it.
"""

from limelight._runtimes.greenlet.eventlet_hub import EventletActor, EventletFuture

__all__ = ["EventletActor", "EventletFuture"]
