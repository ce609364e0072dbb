"""Personas: HR curates them (with a picture), employees follow them, pages count followers and
never list them, and "For you" says why each entry is there (worked out by hand below)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from innovate.foryou.queries import for_you
from innovate.insights.interests import set_interests, set_room_tags
from innovate.insights.models import Tag
from innovate.resources import Resources
from innovate.rooms import service
from tests.factories import join, make_room


@pytest.fixture
async def people(make_user: Any) -> dict[str, Any]:
    return {
        "admin": await make_user("admin@example.com", name="Ada Admin", is_admin=True),
        "hr": await make_user("hr@example.com", name="Hanna HR"),
        "mod": await make_user("mod@example.com", name="Mo Derator", is_moderator=True),
        "emp": await make_user("emp@example.com", name="Em Ployee"),
        "emp2": await make_user("emp2@example.com", name="Eve Second"),
        "guest": await make_user("guest@example.org", name="Gus Guest", kind="guest"),
    }


def png(size: tuple[int, int] = (900, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(out, "PNG")
    return out.getvalue()


async def test_hr_curates_employees_follow(people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    admin, hr, emp = await sign_in(people["admin"]), await sign_in(people["hr"]), await sign_in(people["emp"])
    refused = await hr.post("/api/v1/personas", json={"name": "Green champion"})
    assert refused.status_code == 403
    assert (await emp.put(f"/api/v1/users/{people['hr'].id}/curator", json={"curator": True})).status_code == 403
    named = await admin.put(f"/api/v1/users/{people['hr'].id}/curator", json={"curator": True})
    assert named.json() == {"id": people["hr"].id, "curator": True}
    bad_guest = await admin.put(f"/api/v1/users/{people['guest'].id}/curator", json={"curator": True})
    assert bad_guest.status_code == 422 and "curator" in bad_guest.json()["error"]["fields"]
    secret = await make_room(resources, people["mod"], title="Secret", visibility="invite-only")
    open_room = await make_room(resources, people["mod"], title="Cleaner air")
    unseen = await hr.post("/api/v1/personas", json={"name": "Green champion", "rooms": [secret.slug]})
    assert unseen.status_code == 422 and "rooms" in unseen.json()["error"]["fields"]
    created = await hr.post("/api/v1/personas", json={"name": "Green champion", "portrait": "Cares for **air**",
                                                      "tags": ["Energy", "Air"], "rooms": [open_room.slug]})
    assert created.status_code == 201, created.text
    persona = created.json()
    assert persona["portrait_html"].strip() == "<p>Cares for <strong>air</strong></p>"
    assert [t["label"] for t in persona["tags"]] == ["Air", "Energy"] and persona["followers"] == 0
    dup = await hr.post("/api/v1/personas", json={"name": "Green champion"})
    assert dup.status_code == 409 and dup.json()["error"]["fields"] == {"name": "already taken"}
    # Pictures: any format Pillow reads, resized; anything else refused at its field.
    pid = persona["id"]
    broken = await hr.patch(f"/api/v1/personas/{pid}", files={"picture": ("x.png", b"not a picture", "image/png")},
                            data={"picture_alt": "Leaves"})
    assert broken.status_code == 422 and "picture" in broken.json()["error"]["fields"]
    no_alt = await hr.patch(f"/api/v1/personas/{pid}", files={"picture": ("leaf.png", png(), "image/png")})
    assert no_alt.status_code == 422 and "picture_alt" in no_alt.json()["error"]["fields"]
    pictured = await hr.patch(f"/api/v1/personas/{pid}", files={"picture": ("leaf.png", png(), "image/png")},
                              data={"picture_alt": "Green leaves"})
    assert pictured.status_code == 200, pictured.text
    picture = pictured.json()["picture"]
    large = await emp.get(picture["large"])
    assert large.status_code == 200 and large.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(large.content)).size == (480, 320)
    # Following: counted, never listed.
    assert (await emp.put("/api/v1/me/personas", json={"follow": [pid]})).json() == {"follow": [pid]}
    eve = await sign_in(people["emp2"])
    assert (await eve.post(f"/personas/{pid}/follow", headers={"HX-Request": "true"})).status_code == 200
    page = await eve.get(f"/personas/{pid}")
    assert "2 followers" in page.text and "Em Ployee" not in page.text and 'alt="Green leaves"' in page.text
    assert "Em Ployee" not in (await eve.get(f"/api/v1/personas/{pid}")).text
    assert (await emp.put("/api/v1/me/personas", json={"follow": [pid + 99]})).status_code == 422
    assert (await emp.put("/api/v1/me/personas", json={"follow": "x"})).status_code == 422
    unfollowed = await eve.post(f"/personas/{pid}/unfollow", headers={"HX-Request": "true"})
    assert "1 follower" in unfollowed.text and "Follow" in unfollowed.text


async def test_each_role_on_the_persona_routes(people: dict[str, Any], resources: Resources, sign_in: Any,
                                               client: Any) -> None:
    admin = await sign_in(people["admin"])
    pid = (await admin.post("/api/v1/personas", json={"name": "Tinkerer"})).json()["id"]
    expected = {  # path: (admin, mod, emp, guest)
        "/personas": (200, 200, 200, 404), f"/personas/{pid}": (200, 200, 200, 404),
        "/personas/new": (200, 403, 403, 404), f"/personas/{pid}/edit": (200, 403, 403, 404),
        "/api/v1/personas": (200, 200, 200, 404), "/api/v1/me/for-you": (200, 200, 200, 404),
    }
    for index, who in enumerate(("admin", "mod", "emp", "guest")):
        http = await sign_in(people[who])
        for path, codes in expected.items():
            assert (await http.get(path)).status_code == codes[index], (who, path)
    guest = await sign_in(people["guest"])
    assert (await guest.put("/api/v1/me/personas", json={"follow": [pid]})).status_code == 404
    assert (await guest.post(f"/personas/{pid}/follow")).status_code == 404
    assert (await client.get("/api/v1/personas")).status_code == 401
    assert (await client.get("/personas")).status_code == 303


async def test_persona_form_with_a_picture(people: dict[str, Any], sign_in: Any) -> None:
    admin = await sign_in(people["admin"])
    refused = await admin.post("/personas/new", data={"name": "", "portrait": "x"})
    assert refused.status_code == 422 and 'id="persona-form-name-error"' in refused.text
    created = await admin.post("/personas/new", data={"name": "Night owl", "picture_alt": "An owl"},
                               files={"picture": ("owl.gif", png((64, 64)), "image/png")})
    assert created.status_code == 303, created.text
    page = await admin.get(created.headers["location"])
    assert 'alt="An owl"' in page.text and "0 followers" in page.text


async def test_for_you_worked_out_by_hand(people: dict[str, Any], resources: Resources, sign_in: Any) -> None:
    """Em follows the personas Green champion (recommends the challenge "Solar roofs", cares
    about Energy) and Runner (recommends the community "Runners"), and the tag Cycling.

    - Solar roofs: recommended by Green champion, tagged Energy (Green champion again)
      → one reason, "because you follow Green champion";
    - Bike to work (challenge) tagged Cycling and Energy → two reasons, the persona's first;
    - Runners (community) → "because you follow Runner";
    - Cargo bikes (community) tagged Cycling → "because you follow the tag Cycling";
    - left out: Heat pumps (tagged Energy, closed), Wind (tagged Energy, Em is already in it),
      Secret (recommended... no: tagged Energy, invite-only), Knitting (no reason).
    Order: most reasons first, then the newest.
    """
    mod, emp, admin = people["mod"], people["emp"], people["admin"]
    solar = await make_room(resources, mod, title="Solar roofs", slug="solar")
    heat = await make_room(resources, mod, title="Heat pumps", slug="heat", phase="closed")
    wind = await make_room(resources, mod, title="Wind", slug="wind")
    secret = await make_room(resources, mod, title="Secret", slug="secret", visibility="invite-only")
    runners = await service.create_room(resources, people["emp2"], {"kind": "community", "slug": "runners",
                                                                    "title": "Runners"})
    await service.create_room(resources, people["emp2"], {"kind": "community", "slug": "knitting", "title": "Knitting"})
    cargo = await service.create_room(resources, people["emp2"], {"kind": "community", "slug": "cargo",
                                                                  "title": "Cargo bikes"})
    bike = await make_room(resources, mod, title="Bike to work", slug="bike")
    for room, tags in ((heat, ["Energy"]), (wind, ["Energy"]), (secret, ["Energy"]), (bike, ["Cycling", "Energy"])):
        await set_room_tags(resources, mod, room.slug, tags)
    await set_room_tags(resources, people["emp2"], cargo.slug, ["Cycling"])
    await join(resources, wind, emp)
    http = await sign_in(admin)
    green = (await http.post("/api/v1/personas", json={"name": "Green champion", "tags": ["Energy"],
                                                       "rooms": [solar.slug]})).json()["id"]
    runner = (await http.post("/api/v1/personas", json={"name": "Runner", "rooms": [runners.slug]})).json()["id"]
    await http.post("/api/v1/personas", json={"name": "Not followed", "rooms": ["knitting"]})
    async with resources.db() as db:
        cycling = (await db.execute(select(Tag.id).where(Tag.slug == "cycling"))).scalar_one()
    await set_interests(resources, emp, [cycling])
    me = await sign_in(emp)
    assert (await me.put("/api/v1/me/personas", json={"follow": [green, runner]})).status_code == 200
    expected = [
        ("challenge", "Bike to work", ["because you follow Green champion", "because you follow the tag Cycling"]),
        ("community", "Cargo bikes", ["because you follow the tag Cycling"]),
        ("community", "Runners", ["because you follow Runner"]),
        ("challenge", "Solar roofs", ["because you follow Green champion"]),
    ]
    items = (await me.get("/api/v1/me/for-you")).json()["items"]
    assert [(i["type"], i["item"]["title"], i["reasons"]) for i in items] == expected
    async with resources.db() as db:
        assert [(e.kind, e.item["title"], e.reasons) for e in await for_you(db, resources.settings.secret_key, emp)] == expected
    home = await me.get("/")
    assert "Because you follow Green champion; because you follow the tag Cycling" in home.text


async def test_admins_name_curators_on_their_page(people: dict[str, Any], sign_in: Any) -> None:
    admin = await sign_in(people["admin"])
    unknown = await admin.post("/admin/curators", data={"email": "nobody@example.com"})
    assert unknown.status_code == 422 and 'id="curator-form-email-error"' in unknown.text
    guest = await admin.post("/admin/curators", data={"email": "guest@example.org"})
    assert guest.status_code == 422
    named = await admin.post("/admin/curators", data={"email": "HR@example.com"})
    assert named.status_code == 303
    assert "Hanna HR" in (await admin.get("/admin/curators")).text
    hr = await sign_in(people["hr"])
    assert (await hr.get("/personas/new")).status_code == 200
    for who in ("hr", "emp", "mod"):
        http = hr if who == "hr" else await sign_in(people[who])
        assert (await http.get("/admin/curators")).status_code == 403
    assert (await admin.post(f"/admin/curators/{people['hr'].id}/remove")).status_code == 303
    assert (await hr.get("/personas/new")).status_code == 403
