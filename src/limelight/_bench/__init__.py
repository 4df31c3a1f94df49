"""``limelight bench``: Limelight against Pykka and raw primitives, side by side.

The harness (:mod:`limelight._bench.harness`) knows nothing about any runtime:
it runs :class:`~limelight._bench.harness.Workload` objects. A group of
workloads is a module of this package whose name ends in ``_workloads`` and
that defines ``workloads() -> list[Workload]``; the harness finds such
modules by itself, so a new runtime (asyncio, gevent, processes, ...) adds its
workloads as a new module, with its own ``runtime`` name, and changes nothing
else.

:mod:`limelight._bench.report` turns results into a table or JSON, and
:mod:`limelight._bench.command` is the ``limelight bench`` command line.
"""
