"""Ending someone's access everywhere: their sessions revoked and their live sockets re-checked."""

from __future__ import annotations

from innovate.accounts.sessions import revoke_user_sessions
from innovate.resources import Resources


async def cut_sockets(resources: Resources, user_id: int) -> None:
    """Make every process re-check the live sockets of ``user_id`` now; those whose access is
    gone are closed (1008), the others carry on with their new standing."""
    if resources.hub is not None:
        await resources.hub.disconnect_user(user_id)


async def cut_off(resources: Resources, user_id: int) -> None:
    """Revoke all sessions of ``user_id`` and cut their sockets."""
    await revoke_user_sessions(resources, user_id)
    await cut_sockets(resources, user_id)
