"""What moderation writes into a room for everyone to read (the reason an automatic hide or a
report's resolution gives) is in the site's language, whoever's request wrote it."""

from __future__ import annotations

from typing import Any

import pytest

from innovate.resources import Resources
from tests.moderation_support import build_world, ok


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"default_locale": "de"}


async def test_automatic_and_resolved_hides_give_their_reason_in_the_site_language(
        resources: Resources, make_user: Any, sign_in: Any) -> None:
    world = await build_world(resources, make_user)
    slug = world.a.slug
    mod, bob, ada = await sign_in(world.mod), await sign_in(world.bob), await sign_in(world.ada)
    french = {"Accept-Language": "fr"}
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"auto_hide_reports": 1}))
    ok(await bob.post("/api/v1/reports", headers=french, json={"message_id": world.message.id, "reason": "Rude"}), 201)
    own = [m for m in ok(await ada.get(f"/api/v1/rooms/{slug}/messages"))["items"] if m["id"] == world.message.id][0]
    assert own["state_reason"] == "Automatisch ausgeblendet: von 1 Mitglied gemeldet; ein Moderator prüft es."
    ok(await mod.patch(f"/api/v1/rooms/{slug}", json={"auto_hide_reports": None}))
    filed = ok(await bob.post("/api/v1/reports", headers=french, json={"idea_id": world.idea.id, "reason": "Rude"}),
               201)
    ok(await mod.post(f"/api/v1/reports/{filed['id']}/resolve", headers=french, json={"action": "hide"}))
    idea = ok(await mod.get(f"/api/v1/ideas/{world.idea.id}"))
    assert idea["hidden_reason"] == "Von einem Moderator ausgeblendet, nachdem Mitglieder es gemeldet hatten."
