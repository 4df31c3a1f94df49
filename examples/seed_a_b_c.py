"""Calling a method of an actor's attribute, without traversal.

From "Traversable attributes in Pykka" (2011), with ``pykka`` renamed
``limelight``. ``a.b`` is a future, so ``a.b.c()`` fails: a future has no
``c``. ``a.b.get().c()`` works, but runs ``c()`` in the caller's thread, on
the object the future returned, not inside the actor.
"""

import threading
from typing import ClassVar

from limelight.actor import ThreadingActor


class B(object):  # noqa: UP004 -- written as in 2011
    ran_in: ClassVar[str] = ""  # not in the post: records where c() ran

    def c(self) -> int:
        B.ran_in = threading.current_thread().name
        return 1 + 1


class A(ThreadingActor):
    b = B()


def main() -> None:
    print(">>> a = A.start().proxy()")
    a = A.start().proxy()

    print(">>> a.b.c()")
    message = ""
    try:
        a.b.c()
    except AttributeError as error:
        message = str(error)
        print(f"AttributeError: {message}")
    assert message == "'ThreadingFuture' object has no attribute 'c'"

    print(">>> a.b.get().c()")
    result = a.b.get().c()
    print(f"{result}   # Result calculated in the caller's thread")
    assert result == 2
    assert B.ran_in == threading.current_thread().name

    print(">>> a.stop()")
    a.stop()
    assert a.actor_ref.actor_stopped.wait(10)


if __name__ == "__main__":
    main()
