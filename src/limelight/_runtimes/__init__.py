"""Runtimes: thin layers that run the core's actors in one kind of context each."""
