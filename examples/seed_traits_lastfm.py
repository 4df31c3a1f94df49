"""Traits: mixing the actor life cycle into a class with multiple inheritance.

From "Traits in Python using multiple inheritance" (2011), with ``pykka``
renamed ``limelight``. Mopidy's Last.fm scrobbler is a frontend (it
implements `BaseFrontend`'s API) that has the trait of also being an actor:
`ThreadingActor` mixes in the life cycle. The post elides the method bodies;
here they are filled in, small, with a fake Last.fm service so that the
example runs anywhere.

The hooks use the 2011 names, ``post_start()`` and ``react()``, and messages
are sent with ``send_one_way()`` and ``send_request_reply()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from limelight.actor import ThreadingActor

MIN_TRACK_LENGTH = 30_000
"""Last.fm ignores tracks shorter than this many milliseconds."""

ENOUGH_PLAYED = 240_000
"""A track counts as listened to after this many milliseconds, or half of it."""


@dataclass(frozen=True)
class Track:
    artist: str
    title: str
    length: int  # milliseconds

    def __str__(self) -> str:
        return f"{self.artist} - {self.title}"


class FakeLastfmNetwork:
    """Stands in for the Last.fm web service, recording what it is sent."""

    def __init__(self) -> None:
        self.username: str | None = None
        self.now_playing: list[Track] = []
        self.scrobbles: list[Track] = []

    def connect(self, username: str) -> FakeLastfmNetwork:
        self.username = username
        return self

    def update_now_playing(self, track: Track) -> None:
        self.now_playing.append(track)

    def scrobble(self, track: Track) -> None:
        self.scrobbles.append(track)


LASTFM = FakeLastfmNetwork()


class BaseFrontend(object):  # noqa: UP004 -- written as in 2011
    """What every Mopidy frontend implements (the extension point, much reduced)."""

    def __init__(self) -> None:
        self.current_track: Track | None = None

    def started_playing(self, track: Track) -> None:
        raise NotImplementedError

    def stopped_playing(self, track: Track, stop_position: int) -> None:
        raise NotImplementedError


class LastfmFrontend(ThreadingActor, BaseFrontend):
    def __init__(self) -> None:
        super(LastfmFrontend, self).__init__()  # noqa: UP008 -- as in 2011
        # The actor's __init__() calls no other class's, as on Pykka: each
        # trait's own __init__() is this class's to call.
        BaseFrontend.__init__(self)
        self.lastfm: FakeLastfmNetwork | None = None

    def post_start(self) -> None:
        self.lastfm = LASTFM.connect("alice")
        print(f"Connected to Last.fm as {self.lastfm.username!r}")

    def react(self, message: dict[str, Any]) -> Any:
        if message.get("command") == "started_playing":
            self.started_playing(message["track"])
        elif message.get("command") == "stopped_playing":
            self.stopped_playing(message["track"], message["stop_position"])
        elif message.get("command") == "get_current_track":
            return self.current_track
        return None

    def started_playing(self, track: Track) -> None:
        assert self.lastfm is not None
        self.current_track = track
        self.lastfm.update_now_playing(track)
        print(f"Now playing: {track}")

    def stopped_playing(self, track: Track, stop_position: int) -> None:
        assert self.lastfm is not None
        self.current_track = None
        if track.length < MIN_TRACK_LENGTH:
            print(f"Not scrobbled: {track} (shorter than 30 s)")
        elif stop_position < min(track.length // 2, ENOUGH_PLAYED):
            played, length = stop_position // 1000, track.length // 1000
            print(f"Not scrobbled: {track} (played {played} of {length} s)")
        else:
            self.lastfm.scrobble(track)
            print(f"Scrobbled: {track}")


PLAYED = [
    (Track("Erik Satie", "Gymnopedie No. 1", 190_000), 180_000),
    (Track("Radio", "Jingle", 12_000), 12_000),
    (Track("J. S. Bach", "Air on the G String", 300_000), 20_000),
    (Track("Miles Davis", "So What", 562_000), 250_000),
]


def main() -> None:
    frontend = LastfmFrontend.start()
    assert frontend.send_request_reply({"command": "get_current_track"}) is None

    for track, stop_position in PLAYED:
        frontend.send_one_way({"command": "started_playing", "track": track})
        assert frontend.send_request_reply({"command": "get_current_track"}) == track
        frontend.send_one_way(
            {
                "command": "stopped_playing",
                "track": track,
                "stop_position": stop_position,
            }
        )

    assert frontend.stop() is True  # after the messages sent before it
    assert LASTFM.now_playing == [track for track, _ in PLAYED]
    assert LASTFM.scrobbles == [PLAYED[0][0], PLAYED[3][0]]
    print(f"{len(LASTFM.scrobbles)} of {len(PLAYED)} tracks scrobbled")


if __name__ == "__main__":
    main()
