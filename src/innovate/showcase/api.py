"""The showcase in the JSON API.

- ``GET|POST /api/v1/rooms/{slug}/publication``: the room's public results (moderators);
- ``GET /api/v1/me/publication-consents``, ``PUT /api/v1/me/publication-consents/{id}``: an
  author's consent requests and answers.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import current_user, require_user
from innovate.errors import Forbidden, Invalid
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, read_input
from innovate.media import store
from innovate.showcase import positions, publishing, stories, talent
from innovate.showcase.models import Story, TalentConsent
from innovate.web import resources


async def publication(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    res = resources(request)
    if request.method == "POST":
        edit = await publishing.save(res, user, slug, publishing.check_change(await read_input(request)))
    else:
        async with res.db() as db:
            edit = await publishing.editing(db, user, slug)
    return JSON(publishing.publication_json(edit, res.settings.public_url))


def _request_json(r: publishing.Request, public_url: str) -> dict[str, object]:
    p = r.publication
    return {**publishing.item_json(r.item), "challenge": p.title, "published": p.state == "published",
            "url": f"{public_url}/results/{p.slug}" if p.state == "published" else None}


async def my_consents(request: Request) -> Response:
    user = require_user(request)
    res = resources(request)
    async with res.db() as db:
        found = await publishing.my_requests(db, user)
    return JSON({"items": [_request_json(r, res.settings.public_url) for r in found]})


async def my_consent(request: Request) -> Response:
    user = require_user(request)
    data = await read_input(request)
    agree = data.get("consent")
    if not isinstance(agree, bool):
        raise Invalid.field("consent", lazy_gettext("expected true (name me) or false (do not name me)"))
    answered = await publishing.answer(resources(request), user, request.path_params["item"], agree)
    return JSON(_request_json(answered, resources(request).settings.public_url))


async def _stories_json(request: Request, found: list[Story]) -> list[dict[str, object]]:
    res = resources(request)
    async with res.db() as db:
        covers = await store.load_many(db, [s.cover_key for s in found if s.cover_key])
    return [stories.story_json(s, covers, res.settings.public_url) for s in found]


async def story_list(request: Request) -> Response:
    """Writers and admins: every story, drafts too; anyone else: the published ones."""
    res = resources(request)
    if request.method == "POST":
        created = await stories.create(res, require_user(request), await read_input(request))
        return JSON((await _stories_json(request, [created]))[0], status_code=201)
    user = current_user(request)
    async with res.db() as db:
        if user is not None and await stories.is_writer(db, user):
            found = await stories.all_stories(db, user)
        else:
            found = await stories.published(db)
    return JSON({"items": await _stories_json(request, found)})


async def story_one(request: Request) -> Response:
    changed = await stories.update(resources(request), require_user(request), request.path_params["slug"],
                                   await read_input(request))
    return JSON((await _stories_json(request, [changed]))[0])


async def story_writers(request: Request) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        found = await stories.writers(db, user)
    return JSON({"items": [{"id": w.id, "name": w.name} for w in found]})


async def story_writer(request: Request) -> Response:
    user = require_user(request)
    person = request.path_params["user"]
    await stories.name_writer(resources(request), user, person, writer=request.method == "PUT")
    return Response(status_code=204)


async def position_list(request: Request) -> Response:
    user = require_user(request)
    res = resources(request)
    if request.method == "POST":
        created = await positions.create(res, user, await read_input(request))
        return JSON(positions.position_json(positions.Listed(created, {}, 0), res.settings.public_url, hr=True),
                    status_code=201)
    async with res.db() as db:
        found = await positions.listing(db, user)
    hr = positions.is_hr(user)
    return JSON({"items": [positions.position_json(p, res.settings.public_url, hr=hr) for p in found]})


async def position_one(request: Request) -> Response:
    res = resources(request)
    changed = await positions.update(res, require_user(request), request.path_params["id"], await read_input(request))
    return JSON(positions.position_json(positions.Listed(changed, {}, 0), res.settings.public_url, hr=True))


async def referrals(request: Request) -> Response:
    user = require_user(request)
    position_id = request.path_params["id"]
    if request.method == "POST":
        made = await positions.refer(resources(request), user, position_id, await read_input(request))
        return JSON({"id": made.id, "state": made.state, "name": made.name}, status_code=201)
    async with resources(request).db() as db:
        found = await positions.for_hr(db, user, position_id)
    return JSON({"referrals": [positions.referral_json(r, n) for r, n in found.referrals],
                 "interested": [positions.interest_json(i) for i in found.interests]})


def _consent_json(consent: TalentConsent | None, company: str) -> dict[str, object]:
    return {"open": consent is not None, "version": consent.text_version if consent else None,
            "consented_at": consent.consented_at.isoformat() if consent else None,
            "current_version": talent.CONSENT_VERSION, "text": talent.consent_text(company)}


async def my_talent_consent(request: Request) -> Response:
    user = require_user(request)
    res = resources(request)
    if request.method == "PUT":
        consent = await talent.set_consent(res, user, await read_input(request))
    else:
        if not user.is_guest:
            raise Forbidden(lazy_gettext("The talent pool is for guest experts."))
        async with res.db() as db:
            consent = await talent.consent_of(db, user)
    return JSON(_consent_json(consent, res.settings.company_name))


async def talent_pool(request: Request) -> Response:
    user = require_user(request)
    async with resources(request).db() as db:
        members = await talent.pool(db, user)
    return JSON({"items": [m.json() for m in members]})


async def talent_csv(request: Request) -> Response:
    body = await talent.export_csv(resources(request), require_user(request))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="talent-pool.csv"',
                             "Cache-Control": "no-store"})


async def talent_note(request: Request) -> Response:
    note = await talent.save_note(resources(request), require_user(request), request.path_params["user"],
                                  await read_input(request))
    return JSON({"user_id": request.path_params["user"], "note": note})


routes = [
    Route("/api/v1/me/talent-consent", my_talent_consent, methods=["GET", "PUT"]),
    Route("/api/v1/admin/talent", talent_pool, methods=["GET"]),
    Route("/api/v1/admin/talent.csv", talent_csv, methods=["GET"]),
    Route("/api/v1/admin/talent/{user:id}/note", talent_note, methods=["PUT"]),
    Route("/api/v1/positions", position_list, methods=["GET", "POST"]),
    Route("/api/v1/positions/{id:id}", position_one, methods=["PATCH"]),
    Route("/api/v1/positions/{id:id}/referrals", referrals, methods=["GET", "POST"]),
    Route("/api/v1/stories", story_list, methods=["GET", "POST"]),
    Route("/api/v1/stories/{slug:str}", story_one, methods=["PATCH"]),
    Route("/api/v1/admin/story-writers", story_writers, methods=["GET"]),
    Route("/api/v1/admin/story-writers/{user:id}", story_writer, methods=["PUT", "DELETE"]),
    Route("/api/v1/rooms/{slug}/publication", publication, methods=["GET", "POST"]),
    Route("/api/v1/me/publication-consents", my_consents, methods=["GET"]),
    Route("/api/v1/me/publication-consents/{item:id}", my_consent, methods=["PUT"]),
]
