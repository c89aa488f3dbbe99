"""The room directory: which process holds panels in which room (sans-IO, no Redis here)."""

from __future__ import annotations

from assist.rooms import RoomDirectory

AGENT = ("/agent", "agent:rita")
WALL = ("/supervisor", "supervisors")


def test_until_everyone_answered_any_room_may_be_elsewhere() -> None:
    a = RoomDirectory("a")
    assert a.held_elsewhere(AGENT)  # nothing known yet: emits go through Redis
    a.hello()
    assert not a.heard_from_all(["a", "b"])
    a.receive({"op": "full", "from": "b", "rooms": []})
    assert a.heard_from_all(["a", "b"])
    a.complete = True
    assert not a.held_elsewhere(AGENT)


def test_first_join_and_last_leave_are_announced() -> None:
    a = RoomDirectory("a")
    assert a.joined(AGENT) == {"op": "join", "from": "a", "rooms": [list(AGENT)]}
    assert a.joined(AGENT) is None  # a second tab of the same agent
    assert a.held_here(AGENT)
    assert a.left(AGENT) is None
    assert a.left(AGENT) == {"op": "leave", "from": "a", "rooms": [list(AGENT)]}
    assert not a.held_here(AGENT)


def test_what_others_say_is_tracked_per_process() -> None:
    a, b = RoomDirectory("a"), RoomDirectory("b")
    a.complete = b.complete = True
    join = b.joined(WALL)
    assert join is not None and a.receive(join) is None
    assert a.held_elsewhere(WALL) and not a.held_elsewhere(AGENT)
    assert a.receive(b.left(WALL) or {}) is None
    assert not a.held_elsewhere(WALL)
    b.joined(AGENT)
    answer = b.receive(a.hello())  # a restarted: b answers with its whole list
    assert answer == {"op": "full", "from": "b", "rooms": [list(AGENT)]}
    a.receive(answer)
    a.complete = True
    assert a.held_elsewhere(AGENT)
    a.keep_only(["a"])  # b's alive key ran out
    assert not a.held_elsewhere(AGENT)


def test_own_and_malformed_messages_change_nothing() -> None:
    a = RoomDirectory("a")
    a.complete = True
    a.receive({"op": "join", "from": "a", "rooms": [list(AGENT)]})
    a.receive({"op": "join", "rooms": [list(AGENT)]})
    a.receive({"op": "join", "from": "b", "rooms": ["x", [1], None]})
    assert not a.held_elsewhere(AGENT)
    a.receive({"op": "join", "from": "b", "rooms": [list(AGENT)]})
    a.receive(RoomDirectory("b").bye())  # b stops cleanly
    assert not a.held_elsewhere(AGENT)
