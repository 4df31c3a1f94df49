"""Actors as greenlets, written once for any greenlet library.

- ``hub.py``: the greenlet machinery: the inbox a greenlet parks on, the ref
  whose ``tell()`` queues without a call, waiters, and the ``HubAdapter``
  protocol that a library implements.
- ``runtime.py``: the runtime built on a ``HubAdapter``: where an actor
  lives (its starter's hub, or a background hub), futures, timers.
- ``gevent_hub.py``, ``eventlet_hub.py``: the adapters of gevent and
  eventlet, and their runtimes.
"""
