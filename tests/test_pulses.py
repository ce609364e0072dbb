"""HR pulses: who may send and answer, answering once and changing until close, results for the
sender (live) and for the audience when allowed, the insights; and the anonymity table scan:
after anonymous answers, no row anywhere links an answer to its person."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from innovate.audit import AuditEntry
from innovate.models import Base
from innovate.notifications.models import Notification
from innovate.pulses.service import participant_key
from innovate.resources import Resources
from innovate.rooms.models import Event
from tests.clients import signed_in_client


@pytest.fixture
async def people(make_user: Any) -> dict[str, Any]:
    return {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "ann": await make_user("ann@example.com", name="Ann Answer"),
        "bob": await make_user("bob@example.com", name="Bob Answer"),
        "cat": await make_user("cat@example.com", name="Cat Answer"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
    }


@pytest.fixture
def published(resources: Resources) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    original = resources.broker.publish

    async def publish(message: dict[str, Any]) -> None:
        seen.append(message)
        await original(message)

    resources.broker.publish = publish  # type: ignore[method-assign]
    return seen


SCALE = {"body": "How was **your week**?", "question_kind": "scale", "question": "How was your week?",
         "allow_comment": True, "anonymous": True}


async def _count(resources: Resources, model: Any) -> int:
    async with resources.db() as db:
        return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


async def test_anonymous_answers_leave_no_link_in_any_table(people: dict[str, Any], resources: Resources,
                                                            sign_in: Any, app: Any) -> None:
    admin = await sign_in(people["admin"])
    sent = await admin.post("/api/v1/pulses", json=SCALE)
    assert sent.status_code == 201, sent.text
    pulse_id = sent.json()["id"]
    audits, events = await _count(resources, AuditEntry), await _count(resources, Event)
    answers = {"ann": (2, "alpha-comment-of-ann"), "bob": (4, "bravo-comment-of-bob"), "cat": (5, None)}
    clients: dict[str, httpx.AsyncClient] = {}
    receipts = []
    for who, (value, comment) in answers.items():
        clients[who] = await sign_in(people[who])
        body: dict[str, Any] = {"value": value} | ({"comment": comment} if comment else {})
        done = await clients[who].put(f"/api/v1/pulses/{pulse_id}/answer", json=body)
        assert done.status_code == 200, done.text
        receipts.append(done.json()["receipt"])
    # Ann changes her answer from the same browser (its cookie carries the receipt)...
    changed = await clients["ann"].put(f"/api/v1/pulses/{pulse_id}/answer",
                                       json={"value": 3, "comment": "charlie-comment-of-ann"})
    assert changed.status_code == 200 and changed.json()["changed"] is True
    # ...but answering again from another browser is refused: once per person.
    elsewhere = await signed_in_client(app, "ann@example.com", "correct horse battery")
    again = await elsewhere.put(f"/api/v1/pulses/{pulse_id}/answer", json={"value": 1})
    assert again.status_code == 409 and "receipt" in again.json()["error"]["fields"]
    await elsewhere.aclose()
    results = (await admin.get(f"/api/v1/pulses/{pulse_id}/results")).json()
    assert results["answers"] == 3 and results["mean"] == 4.0
    assert sorted(c["text"] for c in results["comments"]) == ["bravo-comment-of-bob", "charlie-comment-of-ann"]
    assert all(c["by"] is None for c in results["comments"])
    # Nothing about an answer went to the audit trail or a room's timeline.
    assert (await _count(resources, AuditEntry), await _count(resources, Event)) == (audits, events)

    # The scan: every row of every table, as text.
    answerers = {people[w].id for w in answers}
    secret = resources.settings.secret_key
    markers = {participant_key(secret, pulse_id, uid) for uid in answerers}
    personal = {str(people[w].email) for w in answers} | {people[w].name for w in answers} | markers
    contents = {"alpha-comment-of-ann", "bravo-comment-of-bob", "charlie-comment-of-ann"}
    user_columns = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
                    if any(fk.column.table.name == "users" for fk in c.foreign_keys) or (t.name == "users" and c.name == "id")}
    answer_keys: set[str] = set()
    tables: dict[str, list[dict[str, Any]]] = {}
    async with resources.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            tables[table.name] = [dict(row._mapping) for row in (await connection.execute(select(table))).all()]
    answer_keys = {row["key"] for row in tables["pulse_answers"]}
    assert len(answer_keys) == 3 and not answer_keys & set(receipts)  # only hashes of receipts are stored
    for name, rows in tables.items():
        for row in rows:
            text = repr(row)
            people_in_row = {row[c] for (t, c) in user_columns if t == name and row.get(c) is not None}
            if any(content in text for content in contents) or any(key in text for key in answer_keys):
                assert name == "pulse_answers", (name, row)
                assert not people_in_row and not any(p in text for p in personal), (name, row)
                assert not any(r in text for r in receipts)
            if people_in_row & answerers or any(p in text for p in personal):
                assert not any(content in text for content in contents), (name, row)
                assert not any(key in text for key in answer_keys), (name, row)
    # The participation rows and the answer rows share no value but the pulse's id.
    for marker in tables["pulse_participations"]:
        for answer in tables["pulse_answers"]:
            shared = {repr(v) for v in marker.values()} & {repr(v) for v in answer.values()}
            assert shared == {repr(pulse_id)}, (marker, answer)
    assert {m["who"] for m in tables["pulse_participations"]} == markers
    for session in tables["sessions"]:
        assert not any(r in repr(session["data"]) for r in [*receipts, *answer_keys, *contents])


async def test_named_pulse_shows_who_and_answers_change(people: dict[str, Any], sign_in: Any) -> None:
    admin = await sign_in(people["admin"])
    pulse = (await admin.post("/api/v1/pulses", json={"body": "Lunch?", "question_kind": "yesno",
                                                      "question": "Pizza on Friday?", "anonymous": False,
                                                      "allow_comment": True})).json()
    ann = await sign_in(people["ann"])
    assert (await ann.put(f"/api/v1/pulses/{pulse['id']}/answer", json={"value": "yes", "comment": "Yes!"})).status_code == 200
    changed = await ann.put(f"/api/v1/pulses/{pulse['id']}/answer", json={"value": "no"})
    assert changed.json()["changed"] is True and "receipt" not in changed.json()
    results = changed.json()["pulse"]["results"]
    assert [d["count"] for d in results["distribution"]] == [0, 1] and results["comments"] == []
    assert (await ann.put(f"/api/v1/pulses/{pulse['id']}/answer", json={"value": "yes", "comment": "Sure"})).status_code == 200
    assert (await admin.get(f"/api/v1/pulses/{pulse['id']}/results")).json()["comments"] == [
        {"text": "Sure", "by": "Ann Answer"}]


@pytest.mark.parametrize(("payload", "field"), [
    ({"body": ""}, "body"),
    ({"body": "x", "question_kind": "scale"}, "question"),
    ({"body": "x", "question_kind": "choice", "question": "Which?", "choices": ["a"]}, "choices"),
    ({"body": "x", "question_kind": "choice", "question": "Which?", "choices": list("abcdefg")}, "choices"),
    ({"body": "x", "question_kind": "rank", "question": "Which?"}, "question_kind"),
    ({"body": "x", "audience": "personas"}, "personas"),
    ({"body": "x", "audience": "personas", "personas": [999]}, "personas"),
    ({"body": "x", "audience": "communities", "communities": ["nope"]}, "communities"),
    ({"body": "x", "closes_at": "2001-01-01T00:00:00Z"}, "closes_at"),
])
async def test_bad_pulses_name_the_field(people: dict[str, Any], sign_in: Any, payload: dict[str, Any],
                                         field: str) -> None:
    admin = await sign_in(people["admin"])
    refused = await admin.post("/api/v1/pulses", json=payload)
    assert refused.status_code == 422 and field in refused.json()["error"]["fields"], refused.text
    assert (await admin.get("/api/v1/pulses", params={"sent": 1})).json()["items"] == []


async def test_answers_are_checked_and_closing_freezes_them(people: dict[str, Any], sign_in: Any) -> None:
    admin = await sign_in(people["admin"])
    choice = (await admin.post("/api/v1/pulses", json={"body": "x", "question_kind": "choice", "question": "Where?",
                                                       "choices": ["Here", "There"], "results_to_audience": False})).json()
    ann = await sign_in(people["ann"])
    for bad, field in (({"value": 2}, "value"), ({"value": "x"}, "value"), ({}, "value"),
                       ({"value": 0, "comment": "no comments here"}, "comment")):
        refused = await ann.put(f"/api/v1/pulses/{choice['id']}/answer", json=bad)
        assert refused.status_code == 422 and field in refused.json()["error"]["fields"], (bad, refused.text)
    done = await ann.put(f"/api/v1/pulses/{choice['id']}/answer", json={"value": 1})
    assert done.status_code == 200 and done.json()["pulse"]["results"] is None  # results are HR's here
    assert (await ann.get(f"/api/v1/pulses/{choice['id']}/results")).status_code == 403
    assert (await ann.post(f"/api/v1/pulses/{choice['id']}/close")).status_code == 404
    assert (await admin.post(f"/api/v1/pulses/{choice['id']}/close")).json()["open"] is False
    late = await ann.put(f"/api/v1/pulses/{choice['id']}/answer", json={"value": 0})
    assert late.status_code == 409
    assert [d["count"] for d in (await admin.get(f"/api/v1/pulses/{choice['id']}/results")).json()["distribution"]] == [0, 1]


async def test_each_role_and_audiences(people: dict[str, Any], resources: Resources, sign_in: Any,
                                       client: httpx.AsyncClient, published: list[dict[str, Any]]) -> None:
    admin = await sign_in(people["admin"])
    persona = (await admin.post("/api/v1/personas", json={"name": "Night owl"})).json()["id"]
    ann, bob, mod = await sign_in(people["ann"]), await sign_in(people["bob"]), await sign_in(people["mod"])
    await ann.put("/api/v1/me/personas", json={"follow": [persona]})
    assert (await mod.post("/api/v1/pulses", json={"body": "x"})).status_code == 403
    assert (await ann.post("/api/v1/pulses", json={"body": "x"})).status_code == 403
    guest = await sign_in(people["guest"])
    assert (await guest.post("/api/v1/pulses", json={"body": "x"})).status_code == 404
    assert (await client.post("/api/v1/pulses", json={"body": "x"})).status_code in (401, 403)
    pulse = (await admin.post("/api/v1/pulses", json={
        "body": "Late shifts", "question_kind": "scale", "question": "How tired are you?",
        "audience": "personas", "personas": [persona]})).json()
    assert pulse["targets"][0]["name"] == "Night owl" and pulse["targets"][0]["audience"] == 1
    pid = pulse["id"]
    # Only the persona's followers get it: the notification, the home page, "For you".
    assert [p["id"] for p in (await ann.get("/api/v1/pulses")).json()["items"]] == [pid]
    assert (await bob.get("/api/v1/pulses")).json()["items"] == []
    for http, code in ((bob, 404), (guest, 404), (mod, 404)):
        assert (await http.get(f"/api/v1/pulses/{pid}")).status_code == code
        assert (await http.put(f"/api/v1/pulses/{pid}/answer", json={"value": 3})).status_code == code
    async with resources.db() as db:
        told = list((await db.execute(select(Notification.user_id, Notification.kind, Notification.path)
                                      .where(Notification.kind == "pulse"))).all())
    assert told == [(people["ann"].id, "pulse", f"/pulses/{pid}")]
    inbox = (await ann.get("/api/v1/me/notifications")).json()["items"]
    assert inbox[0]["subject"] == "Ada Admin asks: How tired are you?"
    assert any(m.get("user_id") == people["ann"].id and m["frame"]["kind"] == "pulse.sent" for m in published
               if m.get("kind") == "user")
    home = await ann.get("/")
    assert "How tired are you?" in home.text and 'data-pulse-home' in home.text
    for_you = (await ann.get("/api/v1/me/for-you")).json()["items"]
    assert [(i["type"], i["item"]["id"], i["reasons"]) for i in for_you] == [
        ("pulse", pid, ["because you follow Night owl"])]
    # The sender's results follow live: a signal naming the pulse, nothing else.
    published.clear()
    assert (await ann.post(f"/pulses/{pid}/answer", data={"value": "4"}, headers={"HX-Request": "true"})).status_code == 200
    signals = [m for m in published if m.get("kind") == "user" and m["frame"]["kind"] == "pulse.results"]
    assert signals == [{"kind": "user", "user_id": people["admin"].id,
                        "frame": {"kind": "pulse.results", "data": {"pulse_id": pid}}}]
    card = await admin.get(f"/pulses/{pid}/card")
    assert 'data-answers="1"' in card.text and f'data-pulse-live="{pid}"' in card.text
    # The audience sees the results after answering (the sender allowed it).
    assert (await ann.get(f"/api/v1/pulses/{pid}/results")).json()["answers"] == 1
    # The pages, for each role.
    for http, codes in ((admin, (200, 200, 200)), (mod, (403, 403, 404)), (ann, (403, 403, 200)),
                        (guest, (404, 404, 404))):
        got = tuple([(await http.get(p)).status_code for p in ("/admin/pulses", "/pulses/new", f"/pulses/{pid}")])
        assert got == codes


async def test_pulse_insights(people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    admin = await sign_in(people["admin"])
    emp = await sign_in(people["ann"])
    await emp.post("/api/v1/rooms", json={"kind": "community", "slug": "owls", "title": "Owls"})
    await (await sign_in(people["bob"])).post("/api/v1/rooms/owls/join")
    for week, value in ((1, 2), (2, 5)):
        pulse = (await admin.post("/api/v1/pulses", json={
            "body": f"Week {week}", "question_kind": "scale", "question": "How  was your week?",
            "audience": "communities", "communities": ["owls"]})).json()
        await emp.put(f"/api/v1/pulses/{pulse['id']}/answer", json={"value": value})
    figures = (await admin.get("/api/v1/pulses/insights")).json()
    assert figures["response_rates"] == [{"type": "community", "name": "Owls", "pulses": 2, "audience": 4,
                                          "answered": 2, "response_rate": 0.5}]
    (series,) = figures["repeated_questions"]
    assert [(p["answers"], p["mean"], p["response_rate"]) for p in series["series"]] == [(1, 2.0, 0.5), (1, 5.0, 0.5)]
    assert (await emp.get("/api/v1/pulses/insights")).status_code == 403
    page = await admin.get("/admin/pulses")
    assert "Owls" in page.text and "50%" in page.text  # Babel: English writes 50%, French 50 %
