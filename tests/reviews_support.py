"""An invite-only room with a review panel, built through the real write path: a moderator,
two authors, a guest expert and an employee on the panel, a member who is neither, and an
employee outside the room."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from innovate.accounts.models import User
from innovate.resources import Resources
from innovate.rooms.models import Idea, Room
from tests.factories import make_idea, make_room
from tests.moderation_support import add_guest


@dataclass
class Panel:
    mod: User
    ada: User            # employee, author of two ideas (one anonymous)
    bob: User            # employee reviewer, author of one idea
    gia: User            # guest expert, reviewer
    eve: User            # employee member, neither author nor reviewer
    out: User            # employee who is not in the room
    room: Room
    other: Room          # a room the guest was not invited to
    ada_idea: Idea
    anon_idea: Idea
    bob_idea: Idea
    other_idea: Idea
    criteria: list[dict[str, Any]]


CRITERIA = [
    {"name": "Impact", "guide": "How much CO2 does it save?", "weight": 2, "scale": 5,
     "low_label": "Marginal", "high_label": "Transformative"},
    {"name": "Feasibility", "guide": "Could we start next quarter?", "weight": 1, "scale": 10,
     "low_label": "Moonshot", "high_label": "Ready"},
]


async def build_panel(resources: Resources, make_user: Any, sign_in: Any, **room: Any) -> Panel:
    mod = await make_user("mod@corp.example", name="Mo Derator", is_moderator=True)
    ada = await make_user("ada@corp.example", name="Ada Author")
    bob = await make_user("bob@corp.example", name="Bob Reviewer")
    gia = await make_user("gia@expert.example", name="Gia Expert", kind="guest")
    eve = await make_user("eve@corp.example", name="Eve Member")
    out = await make_user("out@corp.example", name="Otto Outside")
    main = await make_room(resources, mod, allow_anonymous=True, visibility="invite-only", **room)
    other = await make_room(resources, mod, visibility="invite-only")
    for user in (ada, bob, eve, gia):
        await add_guest(resources, main, user)  # what an invite does, for employees too
    await add_guest(resources, other, ada)
    panel = Panel(
        mod=mod, ada=ada, bob=bob, gia=gia, eve=eve, out=out, room=main, other=other,
        ada_idea=await make_idea(resources, ada, main, title="Cargo bikes"),
        anon_idea=await make_idea(resources, ada, main, title="Night deliveries", anonymous=True),
        bob_idea=await make_idea(resources, bob, main, title="Parcel lockers"),
        other_idea=await make_idea(resources, ada, other, title="Elsewhere"),
        criteria=[],
    )
    moderator = await sign_in(mod)
    response = await moderator.put(f"/api/v1/rooms/{main.slug}/criteria", json={"criteria": CRITERIA})
    assert response.status_code == 200, response.text
    panel.criteria = response.json()["items"]
    for user in (bob, gia):
        added = await moderator.post(f"/api/v1/rooms/{main.slug}/reviewers", json={"user_id": user.id})
        assert added.status_code == 201, added.text
    return panel


async def assign(http: httpx.AsyncClient, panel: Panel, *pairs: tuple[Idea, User]) -> None:
    response = await http.post(f"/api/v1/rooms/{panel.room.slug}/assignments", json={
        "pairs": [{"idea_id": idea.id, "reviewer_id": user.id} for idea, user in pairs]})
    assert response.status_code == 201, response.text


def card(panel: Panel, impact: int, feasibility: int, *, submit: bool = True, recommendation: str = "advance",
         **more: Any) -> dict[str, Any]:
    impact_id, feasibility_id = (str(c["id"]) for c in panel.criteria)
    return {"scores": {impact_id: impact, feasibility_id: feasibility}, "recommendation": recommendation,
            "submit": submit, **more}
