"""The idea pages: the board (sorted, paged), similar ideas while a title is typed, submitting
an idea, an idea's page with the author's and the moderators' forms, and votes. How a form
answers is said in innovate/web.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import AppError, Invalid
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, read_input
from innovate.resources import Resources
from innovate.rooms.access import IdeaInRoom, idea_in_room, room_access
from innovate.rooms.context import room_base, room_context
from innovate.rooms.ideas.pages import idea_context, idea_page, idea_sort, ideas_context
from innovate.rooms.ideas.queries import idea_detail, ideas_json
from innovate.rooms.ideas.search import similar_ideas
from innovate.rooms.ideas.service import edit_idea, merge_ideas, set_idea_status, submit
from innovate.rooms.ideas.votes import VoteResult, cast_vote, retract_vote
from innovate.rooms.queries import viewer_for
from innovate.rooms.serializers import idea_json
from innovate.rooms.urls import idea_url, room_url
from innovate.web import (
    Form,
    Handler,
    back,
    flash,
    flash_part,
    form_post,
    html,
    is_htmx,
    page,
    page_again,
    partial,
    posted_forms,
    query_id,
    redirect,
    render_to_string,
    reply,
    resources,
    view,
)

IDEA_FIELDS = ("title", "body", "anonymous")
IDEA_FORMS = ("composer_form", "edit_form", "status_form", "merge_form")

# The board --------------------------------------------------------------------------------------


@view
async def ideas_list(request: Request) -> Response:
    """A page of the board in another order (htmx); a plain visit goes to the room's board."""
    user = require_user(request)
    slug = request.path_params["slug"]
    sort = idea_sort(request.query_params.get("sort"))
    cursor = request.query_params.get("cursor") or None

    async def board() -> str:
        async with resources(request).db() as db:
            access, context = await room_base(db, user, slug)
            context.update(await ideas_context(db, access, sort, cursor))
        return render_to_string(request, "rooms/_ideas_page.html" if cursor else "rooms/_ideas_results.html", context)

    query = urlencode({"sort": sort, **({"cursor": cursor} if cursor else {})})
    return await reply(request, board, f"{room_url(slug)}?{query}#ideas-board")


@view
async def similar(request: Request) -> Response:
    """Ideas like the title being typed, so people join one instead of writing it twice."""
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        found = await similar_ideas(db, access.room.id, request.query_params.get("title", ""), limit=5)
        items = await ideas_json(db, access, found)
    return html(render_to_string(request, "rooms/_similar.html", {"similar": items, "room": {"slug": access.room.slug}}))


@view
async def idea_submit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        async def form_part() -> str:
            async with resources(request).db() as db:
                _room, context = await room_base(db, user, slug)
            return render_to_string(request, "rooms/_idea_form.html", {**context, "form": form})

        return await reply(request, form_part, lambda: page_again(request, room_url(slug), idea_form=form))

    found = await form_post(data, submit(resources(request), user, slug, data), IDEA_FIELDS, refused)

    async def parts() -> list[str]:
        context = room_context(found.access)
        async with resources(request).db() as db:
            card = await idea_detail(db, found.access, found.idea)
        return [
            render_to_string(request, "rooms/_idea_form.html", {**context, "form": Form()}),
            partial("#ideas-list", "afterbegin", render_to_string(request, "rooms/_idea_card.html",
                                                                  {**context, "idea": card})),
            partial("#ideas-empty", "delete", ""),
            flash_part(request, _("Your idea “%(title)s” is in.", title=card["title"])),
        ]

    return await reply(request, parts, idea_url(slug, found.idea.id),
                       done=_("Your idea is in. Others can now discuss and vote on it."))


# An idea's page and its forms -------------------------------------------------------------------


@view
async def idea_view(request: Request) -> Response:
    """The idea, its thread, and the forms on it as a refused plain post left them."""
    slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
    async with resources(request).db() as db:
        context = await idea_page(db, require_user(request), slug, idea_id, before=query_id(request, "before"),
                                  reply_to=query_id(request, "reply_to"))
    forms = {name: Form() for name in IDEA_FORMS} | posted_forms(request)
    return page(request, "rooms/idea.html", {**context, **forms})


IdeaWrite = Callable[..., Awaitable[IdeaInRoom]]


def _idea_form(form_name: str, template: str, service: IdeaWrite, fields: tuple[str, ...], done: str) -> Handler:
    """A form of the author or the moderators on the idea page: edit, status, merge."""

    @view
    async def handler(request: Request) -> Response:
        user = require_user(request)
        slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
        data = await read_input(request)

        async def refused(form: Form, exc: AppError) -> Response:
            async def form_part() -> str:
                async with resources(request).db() as db:
                    context = await idea_context(db, await idea_in_room(db, user, idea_id, in_room=slug))
                return render_to_string(request, template, {**context, "form": form})

            return await reply(request, form_part, lambda: page_again(request, idea_url(slug, idea_id),
                                                                      **{form_name: form}))

        found = await form_post(data, service(resources(request), user, idea_id, data, in_room=slug), fields, refused)
        if form_name == "merge_form":
            # The page changes shape (no composer, no controls): load it again.
            flash(request, str(done))  # a lazy text: in the language of this request
            return redirect(request, idea_url(slug, idea_id))

        async def parts() -> list[str]:
            async with resources(request).db() as db:
                context = await idea_context(db, found)
            return [render_to_string(request, template, {**context, "form": Form(ok=True)}),
                    partial(f"#idea-detail-{idea_id}", "outerHTML",
                            render_to_string(request, "rooms/_idea_detail.html", context))]

        return await reply(request, parts, idea_url(slug, idea_id), done=str(done))

    handler.__name__ = form_name
    return handler


idea_edit_submit = _idea_form("edit_form", "rooms/_idea_edit_form.html", edit_idea, ("title", "body"),
                              lazy_gettext("Your idea is updated."))
idea_status_submit = _idea_form("status_form", "rooms/_idea_status_form.html", set_idea_status,
                                ("status", "reason"), lazy_gettext("Status saved."))
idea_merge_submit = _idea_form("merge_form", "rooms/_idea_merge_form.html", merge_ideas, ("into", "reason"),
                               lazy_gettext("Merged: the votes and the discussion moved to the other idea."))


# Votes ------------------------------------------------------------------------------------------


async def _vote_context(request: Request, user: User, slug: str, idea_id: int) -> dict[str, Any]:
    async with resources(request).db() as db:
        found = await idea_in_room(db, user, idea_id, in_room=slug)
        return {**room_context(found.access), "idea": await idea_detail(db, found.access, found.idea)}


def _vote_parts(request: Request, context: dict[str, Any]) -> list[str]:
    """The caller's vote controls for one idea, and in budget rooms their dots left."""
    parts = [render_to_string(request, "rooms/_votes.html", context)]
    if context["room"]["voting"]["mode"] == "budget":
        parts.append(partial("#budget-left", "outerHTML", render_to_string(request, "rooms/_budget.html", context)))
    return parts


@view
async def vote_controls(request: Request) -> Response:
    """The vote buttons of one idea for the caller (live fragments load them this way)."""
    slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
    context = await _vote_context(request, require_user(request), slug, idea_id)
    return await reply(request, lambda: _vote_parts(request, context), idea_url(slug, idea_id))


async def _vote(res: Resources, user: User, slug: str, idea_id: int, data: Input) -> VoteResult:
    value = data.get("value")
    if value in ("0", 0):
        return await retract_vote(res, user, idea_id, in_room=slug)
    if value is None or value == "":
        async with res.db() as db:
            await idea_in_room(db, user, idea_id, in_room=slug)  # an idea that is not there is a 404 first
        raise Invalid.field("value", _("choose a vote"))
    return await cast_vote(res, user, idea_id, value, in_room=slug)


@view
async def vote_submit(request: Request) -> Response:
    user = require_user(request)
    slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        if not is_htmx(request):
            raise exc  # a plain page has no vote form to show it in: the error page does
        context = await _vote_context(request, user, slug, idea_id)
        return html(render_to_string(request, "rooms/_votes.html", {**context, "vote_error": exc.message}))

    result = await form_post(data, _vote(resources(request), user, slug, idea_id, data), ("value",), refused)
    # The vote's answer is the idea and the dots as the vote left them: nothing is read back.
    context = room_context(result.access)
    if result.budget_left is not None:
        context["room"]["my_budget_left"] = result.budget_left
    idea = context["idea"] = idea_json(result.idea, result.access.room, result.author, viewer_for(result.access),
                                       my_vote=result.value)
    tally = partial(f"#tally-{idea_id}", "outerHTML",
                    render_to_string(request, "rooms/_tally.html", {"idea_id": idea_id, "tally": idea["tally"]}))
    return await reply(request, lambda: [*_vote_parts(request, context), tally],
                       back(request, idea_url(slug, idea_id), f"idea-{idea_id}"))


routes = [
    Route("/rooms/{slug}/ideas", ideas_list, methods=["GET"]),
    Route("/rooms/{slug}/ideas", idea_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/similar", similar, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}", idea_view, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/edit", idea_edit_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/status", idea_status_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/merge", idea_merge_submit, methods=["POST"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/vote", vote_controls, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/vote", vote_submit, methods=["POST"]),
]
