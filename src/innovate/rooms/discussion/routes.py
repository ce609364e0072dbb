"""The discussion on the pages: older messages of a thread, posting, one message (as live
updates load it), editing and deleting. A thread is the room's or one idea's; its page is
the room's or the idea's. How a form answers is said in innovate/web.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError, Forbidden
from innovate.i18n import gettext as _
from innovate.inputs import read_input
from innovate.rooms.access import MessageInRoom, idea_in_room, message_in_room
from innovate.rooms.context import room_base, room_context
from innovate.rooms.discussion.pages import message_context, thread_context, thread_key
from innovate.rooms.discussion.service import delete_message, edit_message, post
from innovate.rooms.urls import thread_url
from innovate.web import (
    Form,
    as_id,
    form_post,
    page,
    page_again,
    partial,
    query_id,
    render_to_string,
    reply,
    resources,
    view,
)


def _composer(request: Request, idea_id: int | None, form: Form, context: dict[str, Any]) -> str:
    return render_to_string(request, "rooms/_composer.html",
                            {**context, "form": form, "thread_key": thread_key(idea_id), "idea_id": idea_id,
                             "reply": None})


@view
async def older_messages(request: Request) -> Response:
    """The page of a thread before ``?before=`` (htmx); a plain visit goes to the thread."""
    user = require_user(request)
    slug = request.path_params["slug"]
    idea_id, before = query_id(request, "idea"), query_id(request, "before")

    async def older() -> str:
        async with resources(request).db() as db:
            if idea_id is None:
                access, context = await room_base(db, user, slug)
            else:  # the thread of an idea the caller may see, in this room
                access = (await idea_in_room(db, user, idea_id, in_room=slug)).access
                context = room_context(access)
            context.update(await thread_context(db, access, idea_id, before))
        return render_to_string(request, "rooms/_older_page.html", context)

    query = f"?before={before}" if before else ""
    return await reply(request, older, thread_url(slug, idea_id) + query + f"#thread-{thread_key(idea_id)}")


@view
async def message_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)
    idea_id = as_id(data.get("idea_id"))  # the thread the composer is in; the service checks it

    async def refused(form: Form, exc: AppError) -> Response:
        async def composer() -> str:
            async with resources(request).db() as db:
                _room, context = await room_base(db, user, slug)
            return _composer(request, idea_id, form, context)

        return await reply(request, composer, lambda: page_again(request, thread_url(slug, idea_id), composer_form=form))

    found = await form_post(data, post(resources(request), user, slug, data), ("body", "reply_to"), refused)
    key = thread_key(idea_id)

    async def parts() -> list[str]:
        async with resources(request).db() as db:
            context = await message_context(db, found)
        return [_composer(request, idea_id, Form(), context),
                partial(f"#thread-{key}", "beforeend", render_to_string(request, "rooms/_message.html", context)),
                partial(f"#empty-{key}", "delete", "")]

    return await reply(request, parts, thread_url(slug, idea_id, f"message-{found.message.id}"))


async def _message_answer(request: Request, found: MessageInRoom) -> Response:
    """A message as it is now: in place for htmx, else where it is in its thread."""
    async def part() -> str:
        async with resources(request).db() as db:
            return render_to_string(request, "rooms/_message.html", await message_context(db, found))

    message = found.message
    return await reply(request, part, thread_url(found.access.room.slug, message.idea_id, f"message-{message.id}"))


async def _load(request: Request) -> MessageInRoom:
    async with resources(request).db() as db:
        return await message_in_room(db, require_user(request), request.path_params["message_id"],
                                     in_room=request.path_params["slug"])


@view
async def message_fragment(request: Request) -> Response:
    return await _message_answer(request, await _load(request))


async def _edit_form(request: Request, found: MessageInRoom, form: Form) -> Response:
    """The edit form: in place of the message for htmx, on its own page otherwise."""
    async with resources(request).db() as db:
        context = {**await message_context(db, found), "form": form}
    return await reply(request, lambda: render_to_string(request, "rooms/_message_edit.html", context),
                       lambda: page(request, "rooms/message_edit.html", context))


@view
async def message_edit_page(request: Request) -> Response:
    found = await _load(request)
    if found.message.author_id != found.access.user.id:
        raise Forbidden(_("Only the author may edit a message."))
    return await _edit_form(request, found, Form())


@view
async def message_edit_submit(request: Request) -> Response:
    user = require_user(request)
    slug, message_id = request.path_params["slug"], request.path_params["message_id"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _edit_form(request, await _load(request), form)

    found = await form_post(data, edit_message(resources(request), user, message_id, data, in_room=slug), ("body",),
                            refused)
    return await _message_answer(request, found)


@view
async def message_delete(request: Request) -> Response:
    found = await delete_message(resources(request), require_user(request), request.path_params["message_id"],
                                 in_room=request.path_params["slug"])
    return await _message_answer(request, found)


routes = [
    Route("/rooms/{slug}/messages", older_messages, methods=["GET"]),
    Route("/rooms/{slug}/messages", message_submit, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id:id}", message_fragment, methods=["GET"]),
    Route("/rooms/{slug}/messages/{message_id:id}/edit", message_edit_page, methods=["GET"]),
    Route("/rooms/{slug}/messages/{message_id:id}/edit", message_edit_submit, methods=["POST"]),
    Route("/rooms/{slug}/messages/{message_id:id}/delete", message_delete, methods=["POST"]),
]
