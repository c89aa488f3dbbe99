"""Which server process holds panels in which Socket.IO room (several processes on Redis).

python-socketio's Redis manager publishes every emit to every process, and each process
decodes it, whether or not it holds a socket in the room. With three emits per message
(the turn and the chat's state to the agent's room, the state to the supervisors' room)
that is most of what a second process costs. The directory lets a process emit locally
when only its own sockets are in the room, and not at all when nobody is.

It is sans-IO: the cluster publishes the messages it returns on `ROOMS_CHANNEL` and
hands it the messages it hears there:

* `join` / `leave`: a process's first socket entered a room / its last one left;
* `full`: a process's whole list of rooms (its answer to `hello`, and every few seconds,
  so a lost message heals);
* `hello`: a process that starts (or lost Redis) asks everyone for their lists.

Until every live process has sent its list, the directory says that any room may be
held elsewhere, so an emit goes through Redis as before: a panel never misses a record
because of it. A panel's join is published before its snapshot is asked for, over the
same Redis, so the owner hears of the panel before it builds the snapshot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

ROOMS_CHANNEL = "assist:rooms"
Room = tuple[str, str]  # (namespace, room)


class RoomDirectory:
    def __init__(self, name: str) -> None:
        self.name = name
        self.here: Counter[Room] = Counter()  # sockets of this process per room
        self.elsewhere: dict[str, set[Room]] = {}  # other process -> its rooms
        self.complete = False  # every live process has sent its list

    # -- this process's sockets ----------------------------------------------------
    def joined(self, room: Room) -> dict[str, Any] | None:
        """A socket entered `room`; the message to publish when it is the first here."""
        self.here[room] += 1
        return self._message("join", [room]) if self.here[room] == 1 else None

    def left(self, room: Room) -> dict[str, Any] | None:
        if self.here[room] <= 1:
            self.here.pop(room, None)
            return self._message("leave", [room])
        self.here[room] -= 1
        return None

    def held_here(self, room: Room) -> bool:
        return self.here.get(room, 0) > 0

    def held_elsewhere(self, room: Room) -> bool:
        return not self.complete or any(room in rooms for rooms in self.elsewhere.values())

    def holder_of(self, room: Room) -> str | None:
        """Another process with a socket in `room` (the first by name), if it is known."""
        if not self.complete:
            return None
        return next((name for name in sorted(self.elsewhere) if room in self.elsewhere[name]), None)

    # -- the channel -------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        self.complete = False
        return self._message("hello", [])

    def full(self) -> dict[str, Any]:
        return self._message("full", list(self.here))

    def bye(self) -> dict[str, Any]:
        return self._message("full", [])

    def receive(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Take in another process's message; the answer to publish, if any."""
        sender, op = message.get("from"), message.get("op")
        if not isinstance(sender, str) or sender == self.name:
            return None
        rooms = {(str(r[0]), str(r[1])) for r in message.get("rooms") or () if isinstance(r, list) and len(r) == 2}
        if op == "hello":
            return self.full()  # its own list follows its hello
        if op == "full":
            self.elsewhere[sender] = rooms
        elif op == "join":
            self.elsewhere.setdefault(sender, set()).update(rooms)
        elif op == "leave":
            self.elsewhere.setdefault(sender, set()).difference_update(rooms)
        return None

    def heard_from_all(self, alive: Iterable[str]) -> bool:
        return all(name in self.elsewhere for name in alive if name != self.name)

    def keep_only(self, alive: Iterable[str]) -> None:
        """Drop the rooms of processes that are gone (their alive key ran out)."""
        keep = set(alive)
        for name in [n for n in self.elsewhere if n not in keep]:
            del self.elsewhere[name]

    def _message(self, op: str, rooms: list[Room]) -> dict[str, Any]:
        return {"op": op, "from": self.name, "rooms": [list(r) for r in rooms]}
