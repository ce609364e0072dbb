"""The review pages: the moderators' review page (criteria, settings, the panel, automatic
assignment, live progress, results, comparison, release), the reviewer's queue and their
scorecard of one idea. Forms are plain posts: success redirects back with a notice; a
refused form re-renders its page with every error at its field (innovate/web.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import Input, read_input
from innovate.resources import Resources
from innovate.rooms.access import idea_in_room, require_moderator, room_access
from innovate.rooms.reviews import assignments, pages, scorecard, service
from innovate.web import (
    Form,
    Handler,
    flash,
    form_post,
    html,
    page,
    posted_forms,
    redirect,
    render_to_string,
    resources,
    view,
)

MANAGE_FORMS = ("criteria_form", "settings_form", "reviewer_form", "assign_form", "release_form")


def _reviews_url(slug: str, anchor: str = "") -> str:
    return f"/rooms/{slug}/reviews" + (f"#{anchor}" if anchor else "")


@view
async def manage_page(request: Request) -> Response:
    async with resources(request).db() as db:
        context = await pages.manage_context(db, require_user(request), request.path_params["slug"])
    forms = {name: Form() for name in MANAGE_FORMS} | posted_forms(request)
    return page(request, "reviews/manage.html", {**context, **forms})


@view
async def progress_part(request: Request) -> Response:
    """The live part of the moderators' page (live frames make the page fetch it)."""
    async with resources(request).db() as db:
        access = await room_access(db, require_user(request), request.path_params["slug"])
        require_moderator(access)
        context = await pages.progress_context(db, access)
    return html(render_to_string(request, "reviews/_progress.html", {**context, "room": {"slug": access.room.slug}}))


Write = Callable[[Resources, User, str, Input], Awaitable[Any]]


def _manage_form(form_name: str, to_input: Callable[[Input], Input], write: Write, anchor: str, done: str) -> Handler:
    @view
    async def handler(request: Request) -> Response:
        user = require_user(request)
        slug = request.path_params["slug"]
        form = await read_input(request)
        data = to_input(form)

        async def refused(failed: Form, exc: AppError) -> Response:
            failed.values = {k: v for k, v in form.items() if isinstance(v, str)}
            async with resources(request).db() as db:
                context = await pages.manage_context(db, user, slug)
            forms = {name: Form() for name in MANAGE_FORMS}
            return page(request, "reviews/manage.html", {**context, **forms, form_name: failed})

        await form_post(data, write(resources(request), user, slug, data), list(_fields(data)), refused)
        flash(request, str(done))  # a lazy text: in the language of this request
        return redirect(request, _reviews_url(slug, anchor))

    handler.__name__ = form_name
    return handler


def _fields(data: Input) -> list[str]:
    """Every field name an error may carry for this input (``criteria.0.scale``...)."""
    names = list(data)
    for key, value in data.items():
        if isinstance(value, list):
            names += [f"{key}.{i}.{f}" for i, item in enumerate(value) if isinstance(item, dict) for f in item]
            names += [f"{key}.{i}.{f}" for i in range(len(value)) for f in ("id", "name", "scale", "weight")]
        if isinstance(value, dict):
            names += [f"{key}.{f}" for f in value]
    return names


async def _release(res: Resources, user: User, slug: str, data: Input) -> Any:
    return await service.release(res, user, slug)


criteria_submit = _manage_form("criteria_form", pages.criteria_input, service.save_criteria, "review-criteria",
                               lazy_gettext("Criteria saved."))
settings_submit = _manage_form("settings_form", pages.settings_input, service.save_settings, "review-settings",
                               lazy_gettext("Review settings saved."))
reviewer_submit = _manage_form("reviewer_form", lambda form: {"user_id": form.get("user_id")}, service.add_reviewer,
                               "review-panel", lazy_gettext("Reviewer added."))
assign_submit = _manage_form("assign_form", pages.assign_input, assignments.assign, "review-panel",
                             lazy_gettext("Ideas assigned."))
release_submit = _manage_form("release_form", lambda form: {}, _release, "review-progress",
                              lazy_gettext("Results released: authors can now see them."))


@view
async def comments_submit(request: Request) -> Response:
    """A moderator approves, hides or restores a review's comments from the review page."""
    slug = request.path_params["slug"]
    data = await read_input(request)
    await service.moderate_comments(resources(request), require_user(request), request.path_params["review_id"],
                                    {"action": data.get("action"), "reason": data.get("reason") or None},
                                    in_room=slug)
    flash(request, _("Review comments updated."))
    return redirect(request, _reviews_url(slug, "review-progress"))


@view
async def queue_page(request: Request) -> Response:
    async with resources(request).db() as db:
        context = await pages.queue_context(db, require_user(request), request.path_params["slug"])
    return page(request, "reviews/queue.html", context)


@view
async def queue_part(request: Request) -> Response:
    async with resources(request).db() as db:
        context = await pages.queue_context(db, require_user(request), request.path_params["slug"])
    return html(render_to_string(request, "reviews/_queue.html", context))


@view
async def scorecard_page(request: Request) -> Response:
    slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
    async with resources(request).db() as db:
        context = await pages.scorecard_context(db, await idea_in_room(db, require_user(request), idea_id,
                                                                      in_room=slug))
    return page(request, "reviews/scorecard.html", {**context, "form": posted_forms(request).get("form", Form())})


@view
async def scorecard_submit(request: Request) -> Response:
    user = require_user(request)
    slug, idea_id = request.path_params["slug"], request.path_params["idea_id"]
    form = await read_input(request)
    data = pages.scorecard_input(form)

    async def refused(failed: Form, exc: AppError) -> Response:
        failed.values = {k: v for k, v in form.items() if isinstance(v, str)}
        if exc.fields:  # every field of the scorecard has its place on the form
            failed.errors, failed.message = dict(exc.fields), None
        async with resources(request).db() as db:
            context = await pages.scorecard_context(db, await idea_in_room(db, user, idea_id, in_room=slug))
        return page(request, "reviews/scorecard.html", {**context, "form": failed})

    saved = await form_post(data, scorecard.save_review(resources(request), user, idea_id, data, in_room=slug),
                            ["summary", "recommendation"], refused)
    submitted = saved.review.state == "submitted"
    flash(request, _("Review submitted. Thank you.") if submitted else _("Draft saved."))
    return redirect(request, f"/rooms/{slug}/ideas/{idea_id}/review")


routes = [
    Route("/rooms/{slug}/reviews", manage_page, methods=["GET"]),
    Route("/rooms/{slug}/reviews/progress", progress_part, methods=["GET"]),
    Route("/rooms/{slug}/reviews/criteria", criteria_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/settings", settings_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/reviewers", reviewer_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/assign", assign_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/release", release_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/{review_id:id}/comments", comments_submit, methods=["POST"]),
    Route("/rooms/{slug}/reviews/queue", queue_page, methods=["GET"]),
    Route("/rooms/{slug}/reviews/queue/items", queue_part, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/review", scorecard_page, methods=["GET"]),
    Route("/rooms/{slug}/ideas/{idea_id:id}/review", scorecard_submit, methods=["POST"]),
]

