"""Actors as greenlets on gevent: install with ``pip install 'limelight[gevent]'``.

```python
import gevent
from limelight.gevent import GeventActor


class Fetcher(GeventActor):
    def fetch(self, delay: float) -> str:
        gevent.sleep(delay)  # the hub's other greenlets, and actors, run meanwhile
        return "fetched"


def main() -> None:
    fetcher = Fetcher.start().proxy()  # in this greenlet's hub
    print(fetcher.fetch(0.1).get())    # waits cooperatively
    fetcher.stop()


gevent.spawn(main).join()
```

An actor costs a greenlet, not a thread. Started from a greenlet, it lives
in that greenlet's hub; started from plain code, in a hub that Limelight runs
in a background thread. ``import limelight`` alone never imports gevent:
only importing this module does. See the [gevent guide](../gevent.md).
"""

from limelight._runtimes.greenlet.gevent_hub import GeventActor, GeventFuture

__all__ = ["GeventActor", "GeventFuture"]
