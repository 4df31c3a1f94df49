"""A small program written for Pykka, which runs unchanged on Limelight.

It imports only ``pykka``. Run it on Pykka (if installed), or on Limelight
through the shim, which makes ``import pykka`` give Limelight::

    python examples/pykka_program.py
    python -m limelight.as_pykka examples/pykka_program.py

The first line it prints names the library that ran it.
"""

from __future__ import annotations

from typing import Any, cast

import pykka
from pykka.messages import ProxyCall
from pykka.typing import ActorMemberMixin, proxy_field, proxy_method


class Pantry(pykka.ThreadingActor):
    """Keeps stock of groceries; one message at a time, so no locks."""

    owner: str = "the cook"

    def __init__(self) -> None:
        super().__init__()
        self.stock: dict[str, int] = {}

    def add(self, item: str, count: int = 1) -> int:
        self.stock[item] = self.stock.get(item, 0) + count
        return self.stock[item]

    def take(self, item: str, count: int = 1) -> int:
        have = self.stock.get(item, 0)
        if have < count:
            raise ValueError(f"only {have} {item} left, {count} wanted")
        self.stock[item] = have - count
        return self.stock[item]

    def on_receive(self, message: Any) -> Any:
        if message == "inventory":
            return dict(sorted(self.stock.items()))
        return super().on_receive(message)


class PantryProxy(ActorMemberMixin, pykka.ActorProxy[Pantry]):
    """What a type checker should see of a `Pantry` proxy."""

    owner = proxy_field(Pantry.owner)
    add = proxy_method(Pantry.add)
    take = proxy_method(Pantry.take)


def main() -> None:
    print(f"Running on: {pykka.__name__}")

    # Pykka types start() with typing.Self, which a type checker set to
    # Python 3.10 cannot see: say what it returns.
    ref: pykka.ActorRef[Pantry] = Pantry.start()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    pantry = cast("PantryProxy", ref.proxy())
    print(f"Pantry of {pantry.owner.get()}")

    # Many calls in flight at once; get_all() waits for every result.
    counts = pykka.get_all([pantry.add("egg", 6), pantry.add("apple", 3)])
    print(f"Added: {list(counts)}")

    # A proxy call without a proxy object, as pykka.messages documents.
    left = ref.ask(ProxyCall(attr_path=("take",), args=("egg",), kwargs={"count": 4}))
    print(f"Eggs left: {left}")

    try:
        pantry.take("apple", 5).get()
    except ValueError as error:
        print(f"Could not take apples: {error}")

    print(f"Inventory: {ref.ask('inventory')}")
    assert pykka.ActorRegistry.get_by_class(Pantry) == [ref]

    assert ref.stop() is True
    print(f"Stopped: {not ref.is_alive()}")


if __name__ == "__main__":
    main()
