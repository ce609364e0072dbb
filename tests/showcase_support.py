"""Shared set-up for the showcase tests: a closed challenge with ideas by a consenting
employee, a guest expert, an anonymous author and one idea nobody publishes, its discussion
(which must never leak), and people in every role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from innovate.accounts.models import User
from innovate.resources import Resources
from innovate.rooms import service as rooms
from innovate.rooms.ideas import service as ideas
from innovate.rooms.models import Idea, Room
from tests.factories import join, make_idea, make_message, make_room
from tests.moderation_support import add_guest

# Words that must never reach a public page (the leak scan looks for each of them).
SECRET_MESSAGE = "SECRETMESSAGE discussion text"
SECRET_IDEA = "SECRETIDEA never published"
SECRET_NAMES = ("Gia Guestexpert", "Cyd Anonymous", "Bob Bystander")


@dataclass
class Showcase:
    hr: User           # site moderator (HR), moderates the room
    other_mod: User    # site moderator of another room only
    ada: User          # employee author who agrees to be named
    bob: User          # employee member, author of the unpublished idea
    gia: User          # guest expert author who declines
    cyd: User          # employee author of an anonymous idea
    outsider: User     # employee who was never in the room
    stranger: User     # guest of another room
    admin: User
    room: Room
    other_room: Room
    ada_idea: Idea
    gia_idea: Idea
    cyd_idea: Idea
    bob_idea: Idea

    def people(self) -> dict[str, User]:
        return {"admin": self.admin, "hr": self.hr, "other_mod": self.other_mod, "ada": self.ada, "bob": self.bob,
                "gia": self.gia, "outsider": self.outsider, "stranger": self.stranger}


async def build_showcase(resources: Resources, make_user: Any) -> Showcase:
    hr = await make_user("hr@example.com", name="Hana Resources", is_moderator=True)
    other_mod = await make_user("other@example.com", name="Otto Moderator", is_moderator=True)
    ada = await make_user("ada@example.com", name="Ada Lovelace")
    bob = await make_user("bob@example.com", name="Bob Bystander")
    gia = await make_user("gia@example.org", name="Gia Guestexpert", kind="guest")
    cyd = await make_user("cyd@example.com", name="Cyd Anonymous")
    outsider = await make_user("out@example.com", name="Olga Outsider")
    stranger = await make_user("stranger@example.org", name="Sam Stranger", kind="guest")
    admin = await make_user("admin@example.com", name="Al Admin", is_admin=True)
    room = await make_room(resources, hr, title="Greener logistics", allow_anonymous=True,
                           brief="How do we **halve** our delivery emissions?")
    other_room = await make_room(resources, other_mod, title="Other challenge")
    await join(resources, room, ada, bob, cyd)
    await add_guest(resources, room, gia)
    await add_guest(resources, other_room, stranger)
    ada_idea = await make_idea(resources, ada, room, title="Cargo bikes for the last mile", body="Vans out, bikes in.")
    gia_idea = await make_idea(resources, gia, room, title="Night-time deliveries", body="Quiet electric trucks.")
    cyd_idea = await make_idea(resources, cyd, room, title="Shared depots", body="One depot for all.", anonymous=True)
    bob_idea = await make_idea(resources, bob, room, title=SECRET_IDEA, body="Keep this inside.")
    await make_message(resources, bob, room, SECRET_MESSAGE)
    await make_message(resources, gia, room, f"{SECRET_MESSAGE} from the guest", idea_id=gia_idea.id)
    await ideas.set_idea_status(resources, hr, ada_idea.id, {"status": "selected"})
    await ideas.set_idea_status(resources, hr, gia_idea.id, {"status": "shortlisted"})
    for phase in ("voting", "closed"):
        room = await rooms.change_phase(resources, hr, room.slug, phase)
    return Showcase(hr=hr, other_mod=other_mod, ada=ada, bob=bob, gia=gia, cyd=cyd, outsider=outsider,
                    stranger=stranger, admin=admin, room=room, other_room=other_room, ada_idea=ada_idea,
                    gia_idea=gia_idea, cyd_idea=cyd_idea, bob_idea=bob_idea)


EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def leaks(text: str, world: Showcase, *, named: tuple[str, ...] = ()) -> list[str]:
    """What a public page must not contain: an unpublished idea, a message, a name without
    consent (everyone not in ``named``), an e-mail address, an internal id in a link."""
    found = []
    if SECRET_IDEA in text or "Keep this inside" in text:
        found.append("unpublished idea")
    if "SECRETMESSAGE" in text:
        found.append("message")
    for person in world.people().values():
        if person.name not in named and person.name in text:
            found.append(f"name {person.name}")
    for name in (*SECRET_NAMES, world.cyd.name):
        if name not in named and name in text and f"name {name}" not in found:
            found.append(f"name {name}")
    if EMAIL.search(text):
        found.append(f"e-mail {EMAIL.search(text).group(0)}")  # type: ignore[union-attr]
    if re.search(r"/(ideas|rooms|users|messages)/\d+|[?&](id|idea|user)=\d+|data-id=", text):
        found.append("internal id")
    return found


async def publish(http: httpx.AsyncClient, slug: str, **body: Any) -> httpx.Response:
    return await http.post(f"/api/v1/rooms/{slug}/publication", json=body)
