"""Soak runs: `nox -s soak` only (see soak_restarts.py for why pytest skips them)."""
