"""The pulse pages: HR's form and list (with the pulses insights), a pulse's page (its answer
form, or its results: live for the sender), and the fragments the home page and the live
results fetch when a pulse arrives or an answer comes in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from innovate.accounts.guards import require_user
from innovate.accounts.models import User
from innovate.errors import AppError
from innovate.i18n import gettext as _
from innovate.inputs import read_input
from innovate.personas import queries as personas
from innovate.personas.service import require_curator, require_employee
from innovate.pulses import queries, service
from innovate.pulses.cookies import receipt_from, remember_receipt
from innovate.web import Form, flash, form_post, html, page, redirect, render_to_string, reply, resources, view

FORM_FIELDS = ("body", "question_kind", "question", "choices", "allow_comment", "anonymous", "results_to_audience",
               "audience", "personas", "communities", "closes_at")
ANSWER_FIELDS = ("value", "comment", "receipt")


def _employee(request: Request) -> User:
    user = require_user(request)
    require_employee(user)
    return user


@view
async def hr_page(request: Request) -> Response:
    user = _employee(request)
    res = resources(request)
    async with res.db() as db:
        await require_curator(db, user)
        sent = await queries.sent_pulses(db, res.settings.secret_key, user)
        figures = await queries.insights(db)
    return page(request, "pulses/hr.html", {"pulses": sent, "insights": figures})


async def _form_context(request: Request, user: User, form: Form) -> dict[str, object]:
    async with resources(request).db() as db:
        await require_curator(db, user)
        return {"form": form, "personas": await personas.personas(db, user)}


@view
async def new_page(request: Request) -> Response:
    user = _employee(request)
    form = Form(values={"question_kind": "scale", "anonymous": "true", "results_to_audience": "true",
                        "audience": "all"})
    return page(request, "pulses/new.html", await _form_context(request, user, form))


def _form_input(data: dict[str, object]) -> dict[str, object]:
    values = {k: v for k, v in data.items() if k != "csrf_token"}
    for flag in ("allow_comment", "anonymous", "results_to_audience"):
        values[flag] = "true" if values.get(flag) in ("true", "on") else "false"
    for name in ("personas", "communities"):
        raw = values.get(name)
        if isinstance(raw, str):
            values[name] = [raw]
    return values


@view
async def new_submit(request: Request) -> Response:
    user = _employee(request)
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        return page(request, "pulses/new.html", await _form_context(request, user, form))

    pulse = await form_post(data, service.send_pulse(resources(request), user, _form_input(data)), FORM_FIELDS, refused)
    flash(request, _("Pulse sent. Answers come in below as people reply."))
    return redirect(request, f"/pulses/{pulse.id}")


async def _card(request: Request, user: User, pulse_id: int, form: Form | None = None) -> str:
    res = resources(request)
    async with res.db() as db:
        pulse = await queries.visible_pulse(db, user, pulse_id)
        data = await queries.pulse_json(db, res.settings.secret_key, pulse, user)
    return render_to_string(request, "pulses/_card.html", {"p": data, "form": form or Form()})


@view
async def pulse_page(request: Request) -> Response:
    user = _employee(request)
    card = await _card(request, user, request.path_params["pulse_id"])
    return page(request, "pulses/page.html", {"card": card})


@view
async def card_fragment(request: Request) -> Response:
    return html(await _card(request, _employee(request), request.path_params["pulse_id"]))


@view
async def home_fragment(request: Request) -> Response:
    user = _employee(request)
    res = resources(request)
    async with res.db() as db:
        items = await queries.pulses_for(db, res.settings.secret_key, user)
    return html(render_to_string(request, "pulses/_home.html", {"pulses": items, "form": Form()}))


@view
async def answer_submit(request: Request) -> Response:
    user = _employee(request)
    pulse_id = request.path_params["pulse_id"]
    data = await read_input(request)

    async def refused(form: Form, exc: AppError) -> Response:
        card = await _card(request, user, pulse_id, form)
        return await reply(request, lambda: card, lambda: page(request, "pulses/page.html", {"card": card}))

    res = resources(request)
    done = await form_post(data, service.answer(res, user, pulse_id, data, receipt=receipt_from(request, pulse_id)),
                           ANSWER_FIELDS, refused)
    thanks = _("Your answer is changed.") if done.changed else _("Thank you for answering.")
    response = await reply(request, lambda: _card(request, user, pulse_id, Form(message=thanks, ok=True)),
                           f"/pulses/{pulse_id}", done=thanks)
    if done.receipt is not None:
        remember_receipt(response, res.settings, pulse_id, done.receipt)
    return response


@view
async def close_submit(request: Request) -> Response:
    user = _employee(request)
    pulse_id = request.path_params["pulse_id"]
    await service.close_pulse(resources(request), user, pulse_id)
    return await reply(request, lambda: _card(request, user, pulse_id), f"/pulses/{pulse_id}", done=_("Pulse closed."))


routes = [
    Route("/admin/pulses", hr_page, methods=["GET"]),
    Route("/pulses/new", new_page, methods=["GET"]),
    Route("/pulses/new", new_submit, methods=["POST"]),
    Route("/pulses/for-me", home_fragment, methods=["GET"]),
    Route("/pulses/{pulse_id:id}", pulse_page, methods=["GET"]),
    Route("/pulses/{pulse_id:id}/card", card_fragment, methods=["GET"]),
    Route("/pulses/{pulse_id:id}/answer", answer_submit, methods=["POST"]),
    Route("/pulses/{pulse_id:id}/close", close_submit, methods=["POST"]),
]
