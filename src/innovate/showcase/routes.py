"""The signed-in pages of the showcase: a moderator's publication of a room's results and an
author's answers to consent requests."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError
from innovate.inputs import bool_field, read_input
from innovate.media import store
from innovate.showcase import publishing, stories
from innovate.showcase.models import Story
from innovate.web import Form, flash, form_post, page, posted_forms, resources, see_other, view

PUBLICATION_FIELDS = ("items", "summary", "outcome", "thanks", "published")


@view
async def publication_page(request: Request) -> Response:
    async with resources(request).db() as db:
        edit = await publishing.editing(db, require_user(request), request.path_params["slug"])
    form = posted_forms(request).get("publication", Form())
    return page(request, "showcase/publication.html", {"e": edit, "form": form})


@view
async def publication_submit(request: Request) -> Response:
    slug = request.path_params["slug"]
    data = await read_input(request)
    data.setdefault("items", [])  # no box ticked: nothing picked

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            edit = await publishing.editing(db, require_user(request), slug)
        return page(request, "showcase/publication.html", {"e": edit, "form": form})

    edit = await form_post(data, publishing.save(resources(request), require_user(request), slug,
                                                 publishing.check_change(data)),
                           PUBLICATION_FIELDS, refused)
    state = edit.publication.state if edit.publication else "draft"
    flash(request, {"published": "Published: the results page is public.",
                    "withdrawn": "Withdrawn: the results page is no longer public."}.get(state, "Saved."))
    return see_other(f"/rooms/{quote(slug)}/publication")


@view
async def consents_page(request: Request) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        requests = await publishing.my_requests(db, user)
    return page(request, "showcase/consents.html", {"requests": requests})


@view
async def consent_submit(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)
    answered = await publishing.answer(resources(request), user, request.path_params["item"], bool_field(data, "agree"))
    flash(request, f"Thank you: \u201c{answered.item.title}\u201d "
                   + ("will name you." if answered.item.consent == publishing.GRANTED else "will not name you."))
    return see_other("/me/publications")


# Stories: the writers' pages ----------------------------------------------------------------

@view
async def stories_manage(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await stories.all_stories(db, require_user(request))
    return page(request, "showcase/stories_manage.html", {"stories": found})


async def _story_form(request: Request, story: Story | None, form: Form) -> Response:
    cover = None
    if story is not None and story.cover_key:
        async with resources(request).db() as db:
            cover = await store.load(db, story.cover_key)
    return page(request, "showcase/story_form.html", {"story": story, "form": form, "cover": cover})


@view
async def story_new(request: Request) -> Response:
    async with resources(request).db() as db:
        await stories.require_writer(db, require_user(request))
    return await _story_form(request, None, Form(values={"byline": ""}))


@view
async def story_create(request: Request) -> Response:
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _story_form(request, None, form)

    story = await form_post(data, stories.create(resources(request), require_user(request), data), stories.FIELDS,
                            refused)
    flash(request, "Published." if story.state == "published" else "Saved as a draft.")
    return see_other(f"/stories/{quote(story.slug)}/edit")


@view
async def story_edit(request: Request) -> Response:
    async with resources(request).db() as db:
        story = await stories.for_writer(db, require_user(request), request.path_params["slug"])
    form = Form(values={name: getattr(story, name) for name in ("title", "summary", "body", "byline", "slug")}
                | {"tags": ", ".join(story.tags)})
    return await _story_form(request, story, form)


@view
async def story_update(request: Request) -> Response:
    data = await read_input(request)
    slug = request.path_params["slug"]

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            story = await stories.for_writer(db, require_user(request), slug)
        return await _story_form(request, story, form)

    story = await form_post(data, stories.update(resources(request), require_user(request), slug, data),
                            stories.FIELDS, refused)
    flash(request, "Published." if story.state == "published" else "Saved as a draft.")
    return see_other(f"/stories/{quote(story.slug)}/edit")


routes = [
    Route("/stories/manage", stories_manage, methods=["GET"]),
    Route("/stories/new", story_new, methods=["GET"]),
    Route("/stories/new", story_create, methods=["POST"]),
    Route("/stories/{slug}/edit", story_edit, methods=["GET"]),
    Route("/stories/{slug}/edit", story_update, methods=["POST"]),
    Route("/rooms/{slug}/publication", publication_page, methods=["GET"]),
    Route("/rooms/{slug}/publication", publication_submit, methods=["POST"]),
    Route("/me/publications", consents_page, methods=["GET"]),
    Route("/me/publications/{item:id}", consent_submit, methods=["POST"]),
]
