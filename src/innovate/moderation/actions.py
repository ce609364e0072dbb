"""The moderators' actions on one message or one idea, by the name their address gives them
(``…/messages/{id}/hide``), each called the same way by the pages and the JSON API."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from innovate.accounts.models import User
from innovate.inputs import Input
from innovate.moderation import service
from innovate.resources import Resources
from innovate.rooms.access import IdeaInRoom, MessageInRoom


class MessageAction(Protocol):
    def __call__(self, resources: Resources, actor: User, message_id: int, data: Input, /, *,
                 in_room: str | None = None) -> Awaitable[MessageInRoom]: ...


class IdeaAction(Protocol):
    def __call__(self, resources: Resources, actor: User, idea_id: int, data: Input, /, *,
                 in_room: str | None = None) -> Awaitable[IdeaInRoom]: ...


async def pin(resources: Resources, actor: User, message_id: int, data: Input, *,
              in_room: str | None = None) -> MessageInRoom:
    return await service.pin_message(resources, actor, message_id, True, in_room=in_room)


async def unpin(resources: Resources, actor: User, message_id: int, data: Input, *,
                in_room: str | None = None) -> MessageInRoom:
    return await service.pin_message(resources, actor, message_id, False, in_room=in_room)


async def approve(resources: Resources, actor: User, message_id: int, data: Input, *,
                  in_room: str | None = None) -> MessageInRoom:
    return await service.approve_message(resources, actor, message_id, in_room=in_room)


async def lock(resources: Resources, actor: User, idea_id: int, data: Input, *,
               in_room: str | None = None) -> IdeaInRoom:
    return await service.lock_idea(resources, actor, idea_id, True, data, in_room=in_room)


async def unlock(resources: Resources, actor: User, idea_id: int, data: Input, *,
                 in_room: str | None = None) -> IdeaInRoom:
    return await service.lock_idea(resources, actor, idea_id, False, data, in_room=in_room)


MESSAGE_ACTIONS: dict[str, MessageAction] = {
    "hide": service.hide_message,
    "restore": service.restore_message,
    "pin": pin,
    "unpin": unpin,
    "approve": approve,
    "reject": service.reject_message,
}
IDEA_ACTIONS: dict[str, IdeaAction] = {
    "hide": service.hide_idea,
    "restore": service.restore_idea,
    "lock": lock,
    "unlock": unlock,
}
