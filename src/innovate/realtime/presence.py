"""Who is in a room now, across every process: ephemeral, never stored, expiring by itself.

Each process announces its own sockets' users through the broker:

- ``{"kind": "presence", "room": R, "node": N, "here": [user ids], "ttl": S}`` when a user's
  first socket on that process opens, and again every ``INNOVATE_WS_PRESENCE_SECONDS``
  for everyone still there (in chunks, so payloads stay small);
- ``{"kind": "presence", "room": R, "node": N, "gone": [user ids]}`` when a user's last
  socket on that process closes;
- ``{"kind": "presence", "room": R, "node": N, "ask": true}`` when a process starts
  following a room, so the others answer with their lists at once.

Every process keeps the union in a :class:`PresenceBoard`: an entry (room, user, node)
lives until its ttl passes without a refresh, so the users of a process that died vanish
by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

CHUNK = 400


class PresenceBoard:
    def __init__(self) -> None:
        # room -> user -> node -> expiry (event-loop time)
        self._rooms: dict[int, dict[int, dict[str, float]]] = {}

    def here(self, room_id: int, node: str, user_ids: Iterable[int], ttl: float, now: float) -> bool:
        """Refresh entries; True when the room's set of users changed."""
        users = self._rooms.setdefault(room_id, {})
        changed = False
        for user_id in user_ids:
            nodes = users.get(user_id)
            if nodes is None:
                users[user_id] = {node: now + ttl}
                changed = True
            else:
                nodes[node] = now + ttl
        return changed

    def gone(self, room_id: int, node: str, user_ids: Iterable[int]) -> bool:
        users = self._rooms.get(room_id)
        if users is None:
            return False
        changed = False
        for user_id in user_ids:
            nodes = users.get(user_id)
            if nodes is not None and nodes.pop(node, None) is not None and not nodes:
                del users[user_id]
                changed = True
        if not users:
            del self._rooms[room_id]
        return changed

    def expire(self, now: float) -> set[int]:
        """Drop entries past their ttl; the rooms whose set of users changed."""
        changed: set[int] = set()
        for room_id in list(self._rooms):
            users = self._rooms[room_id]
            for user_id in list(users):
                nodes = users[user_id]
                for node in [n for n, expires in nodes.items() if expires <= now]:
                    del nodes[node]
                if not nodes:
                    del users[user_id]
                    changed.add(room_id)
            if not users:
                del self._rooms[room_id]
        return changed

    def users(self, room_id: int) -> list[int]:
        return sorted(self._rooms.get(room_id, {}))


def chunks(user_ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(user_ids)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
