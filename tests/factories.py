"""Building test data through the real write path (service functions), never raw rows."""

from __future__ import annotations

import itertools
from typing import Any

from innovate.accounts.models import User
from innovate.resources import Resources
from innovate.rooms import service
from innovate.rooms.discussion import service as messages
from innovate.rooms.ideas import service as ideas
from innovate.rooms.models import Idea, Message, Room

_slugs = itertools.count(1)


async def make_room(resources: Resources, moderator: User, **fields: Any) -> Room:
    data: dict[str, Any] = {"slug": f"room-{next(_slugs)}", "title": "Greener logistics",
                            "brief": "How do we **halve** our delivery emissions?", "phase": "open"}
    data.update(fields)
    phase = data.pop("phase")
    room = await service.create_room(resources, moderator, {**data, "phase": "open" if phase != "draft" else "draft"})
    if phase not in ("draft", "open"):
        for step in ("voting", "closed", "archived")[: ("voting", "closed", "archived").index(phase) + 1]:
            room = await service.change_phase(resources, moderator, room.slug, step)
    return room


async def join(resources: Resources, room: Room, *users: User) -> None:
    for user in users:
        await service.join_room(resources, user, room.slug)


async def make_idea(resources: Resources, author: User, room: Room, **fields: Any) -> Idea:
    data = {"title": "Cargo bikes for the last mile", "body": "Replace vans in the city centre."}
    data.update(fields)
    return await ideas.submit_idea(resources, author, room.slug, data)


async def make_message(resources: Resources, author: User, room: Room, body: str = "Hello room", **fields: Any) -> Message:
    return await messages.post_message(resources, author, room.slug, {"body": body, **fields})
