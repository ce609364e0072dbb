"""The signed-in pages of the showcase: a moderator's publication of a room's results and an
author's answers to consent requests."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import AppError, NotFound
from innovate.i18n import gettext as _
from innovate.i18n import lazy_gettext
from innovate.inputs import bool_field, read_input
from innovate.media import store
from innovate.showcase import positions, public, publishing, stories, talent, visitors
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
    flash(request, {"published": _("Published: the results page is public."),
                    "withdrawn": _("Withdrawn: the results page is no longer public.")}.get(state, _("Saved.")))
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
    flash(request, _("Thank you: “%(title)s” will name you.", title=answered.item.title)
          if answered.item.consent == publishing.GRANTED
          else _("Thank you: “%(title)s” will not name you.", title=answered.item.title))
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
    flash(request, _("Published.") if story.state == "published" else _("Saved as a draft."))
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
    flash(request, _("Published.") if story.state == "published" else _("Saved as a draft."))
    return see_other(f"/stories/{quote(story.slug)}/edit")


# Positions: HR's pages, an employee's referral, the public forms ------------------------------

POSITION_FIELDS = ("title", "team", "location", "ats_url", "tags", "state")
REFERRAL_FIELDS = ("user_id", "email", "name", "note")
INTEREST_FIELDS = ("name", "email", "note", visitors.HONEYPOT)


@view
async def positions_admin(request: Request) -> Response:
    user = require_user(request)
    positions.require_hr(user)
    async with resources(request).db() as db:
        found = await positions.listing(db, user)
    return page(request, "showcase/positions_admin.html", {"positions": found, "form": Form()})


@view
async def position_create(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            found = await positions.listing(db, user)
        return page(request, "showcase/positions_admin.html", {"positions": found, "form": form})

    created = await form_post(data, positions.create(resources(request), user, data), POSITION_FIELDS, refused)
    flash(request, _("“%(title)s” is open.", title=created.title))
    return see_other(f"/admin/positions/{created.id}")


@view
async def position_admin(request: Request) -> Response:
    async with resources(request).db() as db:
        found = await positions.for_hr(db, require_user(request), request.path_params["id"])
    return page(request, "showcase/position_admin.html", {"f": found, "form": Form()})


@view
async def position_update(request: Request) -> Response:
    user = require_user(request)
    position_id = request.path_params["id"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        async with resources(request).db() as db:
            found = await positions.for_hr(db, user, position_id)
        return page(request, "showcase/position_admin.html", {"f": found, "form": form})

    await form_post(data, positions.update(resources(request), user, position_id, data), POSITION_FIELDS, refused)
    flash(request, _("Saved."))
    return see_other(f"/admin/positions/{position_id}")


async def _refer_page(request: Request, form: Form) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        position = await public.open_position(db, request.path_params["key"])
        guests = await positions.met_guests(db, user)
    return page(request, "showcase/refer.html", {"p": position, "guests": guests, "form": form})


@view
async def refer_page(request: Request) -> Response:
    if require_user(request).is_guest:
        raise NotFound(lazy_gettext("Employees refer people to positions."))
    return await _refer_page(request, Form())


@view
async def refer_submit(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)
    key = request.path_params["key"]
    async with resources(request).db() as db:
        position_id = await positions.open_id(db, key)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _refer_page(request, form)

    await form_post(data, positions.refer(resources(request), user, position_id, data), REFERRAL_FIELDS, refused)
    flash(request, _("Thank you: your referral is on its way."))
    return see_other(f"/positions/{quote(key)}/refer")


async def _interest_page(request: Request, form: Form, *, done: bool = False) -> Response:
    async with resources(request).db() as db:
        position = await public.open_position(db, request.path_params["key"])
    return page(request, "showcase/interested.html", {"p": position, "form": form, "done": done})


@view
async def interest_page(request: Request) -> Response:
    return await _interest_page(request, Form())


@view
async def interest_submit(request: Request) -> Response:
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _interest_page(request, form)

    await form_post(data, positions.interested(resources(request), request.path_params["key"], data,
                                               visitors.client_ip(request)), INTEREST_FIELDS, refused)
    return await _interest_page(request, Form(), done=True)


async def _referral_page(request: Request, *, done: bool = False, form: Form | None = None) -> Response:
    async with resources(request).db() as db:
        found = await positions.referral_by_token(db, request.path_params["token"])
    if found is None:
        raise NotFound(lazy_gettext("This link is not valid."))
    referral, position = found
    return page(request, "showcase/not_interested.html", {"referral": referral, "position": position, "done": done,
                                                          "form": form or Form()})


@view
async def referral_page(request: Request) -> Response:
    return await _referral_page(request)


@view
async def referral_decline(request: Request) -> Response:
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return await _referral_page(request, form=form)

    await form_post(data, positions.not_interested(resources(request), request.path_params["token"], data,
                                                   visitors.client_ip(request)), (visitors.HONEYPOT,), refused)
    return await _referral_page(request, done=True)


# The talent pool ---------------------------------------------------------------------------

@view
async def opportunities_page(request: Request) -> Response:
    user = require_user(request)
    if not user.is_guest:
        raise NotFound(lazy_gettext("The talent pool is for guest experts."))
    async with resources(request).db() as db:
        consent = await talent.consent_of(db, user)
    return page(request, "showcase/opportunities.html", {
        "consent": consent, "text": talent.consent_text(resources(request).settings.company_name),
        "version": talent.CONSENT_VERSION})


@view
async def opportunities_submit(request: Request) -> Response:
    user = require_user(request)
    consent = await talent.set_consent(resources(request), user, await read_input(request))
    flash(request, _("You are in the talent pool.") if consent
          else _("You are out of the talent pool: HR no longer see you there."))
    return see_other("/account/opportunities")


@view
async def talent_page(request: Request) -> Response:
    async with resources(request).db() as db:
        members = await talent.pool(db, require_user(request))
    return page(request, "showcase/talent.html", {"members": members})


@view
async def talent_note_submit(request: Request) -> Response:
    await talent.save_note(resources(request), require_user(request), request.path_params["user"],
                           await read_input(request))
    flash(request, _("Note saved."))
    return see_other(f"/admin/talent#person-{request.path_params['user']}")


routes = [
    Route("/account/opportunities", opportunities_page, methods=["GET"]),
    Route("/account/opportunities", opportunities_submit, methods=["POST"]),
    Route("/admin/talent", talent_page, methods=["GET"]),
    Route("/admin/talent/{user:id}/note", talent_note_submit, methods=["POST"]),
    Route("/admin/positions", positions_admin, methods=["GET"]),
    Route("/admin/positions", position_create, methods=["POST"]),
    Route("/admin/positions/{id:id}", position_admin, methods=["GET"]),
    Route("/admin/positions/{id:id}", position_update, methods=["POST"]),
    Route("/positions/{key:str}/refer", refer_page, methods=["GET"]),
    Route("/positions/{key:str}/refer", refer_submit, methods=["POST"]),
    Route("/positions/{key:str}/interested", interest_page, methods=["GET"]),
    Route("/positions/{key:str}/interested", interest_submit, methods=["POST"]),
    Route("/referrals/{token:str}", referral_page, methods=["GET"]),
    Route("/referrals/{token:str}", referral_decline, methods=["POST"]),
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
