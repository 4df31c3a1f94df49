"""The remote layer: refs to actors that live in another process, and their hosts.

Two runtimes put actors in other processes: ``limelight.process`` (worker
processes, over a pipe) and ``limelight.ray`` (Ray actors, over Ray's calls).
Each is a *transport* over this layer, which holds what they share:

- `_ref`: ``RemoteRef``, the ``ActorRef`` of an actor elsewhere, whose inbox
  (``ForwardingInbox``) hands each envelope to a ``Transport``; the
  transport protocol (forward, kill, introspect, subscribe to the end);
- `_hosting`: the other side: starting an actor here for a caller elsewhere,
  queueing what callers send it, and watching for its end (``Hosting``);
- `_ended`: the one memory of recently ended actors (``EndedActors``);
- `_late`: the one rule for messages and stops that arrive after their
  actor ended;
- `_carry`: the one way an exception crosses a process boundary.

Nothing here imports a runtime or a third-party package: a transport brings
its own pickling, its own wire and its own threads.
"""
