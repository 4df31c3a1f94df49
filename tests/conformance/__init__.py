"""Behaviour every runtime must share, written against `tests.runtimes` only."""
