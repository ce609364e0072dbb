"""The moderator buttons on messages and ideas (hide, restore, pin, review held posts, lock an
idea's thread), and reports: filing one, and resolving them from the queue.

Each button is a plain form post (back to the page, with a flash message) that htmx turns
into the part it changed, with the message in the page's ``#flash``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import FieldErrors, Input, read_input, text_field
from innovate.moderation import reports
from innovate.moderation.actions import IDEA_ACTIONS, MESSAGE_ACTIONS
from innovate.moderation.pages import queue_context
from innovate.rooms.discussion.pages import message_context
from innovate.rooms.ideas.pages import idea_context
from innovate.rooms.urls import idea_url, thread_url
from innovate.web import (
    Form,
    Handler,
    as_id,
    back,
    flash_part,
    form_post,
    html,
    is_htmx,
    partial,
    render_to_string,
    reply,
    resources,
    view,
)

# What the moderator is told, in their language (``str()`` when the button is pressed).
MESSAGE_DONE = {
    "hide": lazy_gettext("The message is hidden."),
    "restore": lazy_gettext("The message is visible again."),
    "pin": lazy_gettext("Pinned to the top of the room."),
    "unpin": lazy_gettext("Unpinned."),
    "approve": lazy_gettext("Approved: everyone sees the post now."),
    "reject": lazy_gettext("Declined: the author sees it was not approved, with your reason."),
}
IDEA_DONE = {
    "hide": lazy_gettext("The idea is hidden from members."),
    "restore": lazy_gettext("The idea is visible again."),
    "lock": lazy_gettext("The discussion of this idea is locked."),
    "unlock": lazy_gettext("The discussion of this idea is open again."),
}


def _message_button(name: str) -> Handler:
    action, said = MESSAGE_ACTIONS[name], MESSAGE_DONE[name]

    @view
    async def handler(request: Request) -> Response:
        done = str(said)
        user = require_user(request)
        slug, message_id = request.path_params["slug"], request.path_params["message_id"]
        data = await read_input(request)
        found = await action(resources(request), user, message_id, data, in_room=slug)

        async def parts() -> list[str]:
            async with resources(request).db() as db:
                # The button was in the queue (approve, reject) or on the message itself.
                if data.get("part") == "held-queue":
                    part = render_to_string(request, "moderation/_held_queue.html", await queue_context(db, user, slug))
                else:
                    part = render_to_string(request, "rooms/_message.html", await message_context(db, found))
            return [part, flash_part(request, done)]

        anchor = f"message-{message_id}"
        return await reply(request, parts, back(request, thread_url(slug, found.message.idea_id, anchor), anchor),
                           done=done)

    handler.__name__ = f"{name}_message"
    return handler


def _idea_button(name: str) -> Handler:
    action, said = IDEA_ACTIONS[name], IDEA_DONE[name]

    @view
    async def handler(request: Request) -> Response:
        done = str(said)
        slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
        found = await action(resources(request), require_user(request), idea_id, await read_input(request),
                             in_room=slug)

        async def parts() -> list[str]:
            async with resources(request).db() as db:
                context = await idea_context(db, found)
            return [render_to_string(request, "moderation/_idea_tools.html", context),
                    partial(f"#idea-detail-{idea_id}", "outerHTML",
                            render_to_string(request, "rooms/_idea_detail.html", context)),
                    flash_part(request, done)]

        return await reply(request, parts, idea_url(slug, idea_id), done=done)

    handler.__name__ = f"{name}_idea"
    return handler


# Reports ------------------------------------------------------------------------------------


REPORT_FIELDS = ("reason", "details")


def report_input(data: Input) -> Input:
    """The report form's reason (a choice) and optional details, as the service's ``reason``."""
    errors = FieldErrors()
    choice = errors.check(text_field, data, "reason", max_length=100) or ""
    details = errors.check(text_field, data, "details", max_length=900, required=False, multiline=True)
    errors.raise_if_any()
    values = {k: data.get(k) for k in ("message_id", "idea_id") if data.get(k) not in (None, "")}
    return {**values, "reason": f"{choice}: {details}" if details else choice}


@view
async def report_submit(request: Request) -> Response:
    slug = request.path_params["slug"]
    data = await read_input(request)
    kind = "message" if data.get("message_id") else "idea"
    target_id = as_id(data.get(f"{kind}_id"))

    def refused(form: Form, exc: AppError) -> Response:
        if not is_htmx(request) or target_id is None:
            raise exc  # a plain post has no report box of its own to show it in: the error page does
        return html(render_to_string(request, "moderation/_report_form.html", {
            "kind": kind, "target_id": target_id, "room": {"slug": slug}, "report_form": form}))

    async def file() -> reports.Filed:
        # A form cannot reach across rooms: the reported message or idea is one of this room's.
        return await reports.file_report(resources(request), require_user(request), report_input(data), in_room=slug)

    filed = await form_post(data, file(), REPORT_FIELDS, refused)
    done = _("Thank you: the moderators will look at it. The author is not told who reported it.")
    return await reply(request, lambda: render_to_string(request, "moderation/_reported.html", {
        "kind": kind, "target_id": filed.report.target_id, "text": done}), back(request, f"/rooms/{slug}"), done=done)


@view
async def report_resolve(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    outcome = await reports.resolve(resources(request), user, request.path_params["report_id"],
                                    await read_input(request))
    done = {"hide": _("Hidden, and the reports are resolved."), "dismiss": _("Reports dismissed."),
            "mute": _("Hidden, the author is muted, and the reports are resolved.")}[outcome["action"]]

    async def parts() -> list[str]:
        async with resources(request).db() as db:
            queue = render_to_string(request, "moderation/_reports_queue.html", await queue_context(db, user, slug))
        return [queue, flash_part(request, done)]

    return await reply(request, parts, f"/rooms/{slug}/moderation#reports-queue", done=done)


routes = [
    *(Route(f"/rooms/{{slug}}/messages/{{message_id:id}}/{name}", _message_button(name), methods=["POST"])
      for name in MESSAGE_ACTIONS),
    *(Route(f"/rooms/{{slug}}/ideas/{{idea_id:id}}/{name}", _idea_button(name), methods=["POST"])
      for name in IDEA_ACTIONS),
    Route("/rooms/{slug}/reports", report_submit, methods=["POST"]),
    Route("/rooms/{slug}/reports/{report_id:id}/resolve", report_resolve, methods=["POST"]),
]
