"""Reading an actor's attribute through a proxy.

From "Traversable attributes in Pykka" (2011), with ``pykka`` renamed
``limelight``: the attribute read ``x.y`` is a message to the actor, and
gives a future of the value.
"""

from limelight.actor import ThreadingActor


class X(ThreadingActor):
    y = 1


def main() -> None:
    print(">>> x = X.start().proxy()")
    x = X.start().proxy()

    print(">>> x.y.get()")
    y = x.y.get()
    print(y)
    assert y == 1

    print(">>> x.stop()")
    x.stop()
    assert x.actor_ref.actor_stopped.wait(10)


if __name__ == "__main__":
    main()
