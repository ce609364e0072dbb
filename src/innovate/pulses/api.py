"""Pulses in the JSON API (see docs/api.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.errors import Forbidden
from innovate.i18n import lazy_gettext
from innovate.inputs import JSON, read_input
from innovate.personas.service import require_curator, require_employee
from innovate.pulses import queries, service
from innovate.pulses.cookies import receipt_from, remember_receipt
from innovate.web import resources


async def pulses_collection(request: Request) -> Response:
    user = require_user(request)
    require_employee(user)
    res = resources(request)
    if request.method == "POST":
        pulse = await service.send_pulse(res, user, await read_input(request))
        async with res.db() as db:
            return JSON(await queries.pulse_json(db, res.settings.secret_key, pulse, user, answered=False),
                        status_code=201)
    async with res.db() as db:
        if request.query_params.get("sent") in ("1", "true"):
            await require_curator(db, user)
            items = await queries.sent_pulses(db, res.settings.secret_key, user)
        else:
            items = await queries.pulses_for(db, res.settings.secret_key, user, open_only=False)
    return JSON({"items": items})


async def pulse_item(request: Request) -> Response:
    user = require_user(request)
    require_employee(user)
    res = resources(request)
    async with res.db() as db:
        pulse = await queries.visible_pulse(db, user, request.path_params["pulse_id"])
        return JSON(await queries.pulse_json(db, res.settings.secret_key, pulse, user))


async def pulse_answer(request: Request) -> Response:
    user = require_user(request)
    require_employee(user)
    res = resources(request)
    pulse_id = request.path_params["pulse_id"]
    data = await read_input(request)
    given = data.get("receipt")
    receipt = given if isinstance(given, str) and given else receipt_from(request, pulse_id)
    done = await service.answer(res, user, pulse_id, data, receipt=receipt)
    async with res.db() as db:
        body = {"pulse": await queries.pulse_json(db, res.settings.secret_key, done.pulse, user, answered=True),
                "changed": done.changed}
    if done.receipt is not None:
        body["receipt"] = done.receipt
    response = JSON(body)
    if done.receipt is not None:
        remember_receipt(response, res.settings, pulse_id, done.receipt)
    return response


async def pulse_results(request: Request) -> Response:
    user = require_user(request)
    require_employee(user)
    res = resources(request)
    async with res.db() as db:
        pulse = await queries.visible_pulse(db, user, request.path_params["pulse_id"])
        shown = (await queries.pulse_json(db, res.settings.secret_key, pulse, user))["results"]
    if shown is None:
        raise Forbidden(lazy_gettext("The results are shown after you answer, if the sender shares them."))
    return JSON(shown)


async def pulse_close(request: Request) -> Response:
    user = require_user(request)
    res = resources(request)
    pulse = await service.close_pulse(res, user, request.path_params["pulse_id"])
    async with res.db() as db:
        return JSON(await queries.pulse_json(db, res.settings.secret_key, pulse, user, answered=False))


async def pulse_insights(request: Request) -> Response:
    user = require_user(request)
    require_employee(user)
    async with resources(request).db() as db:
        await require_curator(db, user)
        return JSON(await queries.insights(db))


routes = [
    Route("/api/v1/pulses", pulses_collection, methods=["GET", "POST"]),
    Route("/api/v1/pulses/insights", pulse_insights, methods=["GET"]),
    Route("/api/v1/pulses/{pulse_id:id}", pulse_item, methods=["GET"]),
    Route("/api/v1/pulses/{pulse_id:id}/answer", pulse_answer, methods=["PUT"]),
    Route("/api/v1/pulses/{pulse_id:id}/results", pulse_results, methods=["GET"]),
    Route("/api/v1/pulses/{pulse_id:id}/close", pulse_close, methods=["POST"]),
]
