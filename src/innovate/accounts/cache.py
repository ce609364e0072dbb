"""Whom a bearer token stands for, remembered by each process for a few seconds.

Every API request starts with the token's lookup: a round trip and SQLAlchemy's work for
the same answer as a moment ago. A hit skips both. What must end access still ends it at once,
in every process:

- revocation, sign-out and deactivation publish an ``access`` notice for the user after
  commit (``innovate.writes.access_changed``); the process that made the change forgets the
  user's entries before it publishes, and every process forgets them when the broker brings
  the notice (``notice()``);
- a lookup that was under way when a user was forgotten does not store what it read, which
  may predate the change;
- when the broker reconnects it may have missed notices, so everything is forgotten;
- an entry is used for ``INNOVATE_AUTH_CACHE_SECONDS`` at most, so a change no notice
  announces (a user's flags changed from the command line) is seen within that time.

Refused tokens are not remembered. Sessions are not cached: their rows carry the session's
data (the CSRF token), which requests change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from innovate.accounts.models import AccessToken, User
from innovate.resources import Resources

# Enough for every token in active use on a large site; past it the oldest entries go.
MAX_ENTRIES = 20_000


class TokenCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        # token hash -> (good until, the token's row, its user)
        self._entries: dict[str, tuple[float, AccessToken, User]] = {}
        self._by_user: dict[int, set[str]] = {}
        # Bumped whenever anything is forgotten: a lookup stores its answer only if no
        # forgetting happened while it ran.
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: str) -> tuple[AccessToken, User] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(key, entry[2].id)
            return None
        return entry[1], entry[2]

    def put(self, key: str, row: AccessToken, user: User, generation: int) -> None:
        if not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            oldest = next(iter(self._entries))
            self._drop(oldest, self._entries[oldest][2].id)
        self._entries[key] = (self._clock() + self.seconds, row, user)
        self._by_user.setdefault(user.id, set()).add(key)

    def forget_user(self, user_id: int) -> None:
        self.generation += 1
        for key in self._by_user.pop(user_id, ()):
            self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_user.clear()

    def notice(self, message: dict[str, Any]) -> None:
        """A broker notice (or one this process is about to publish)."""
        kind = message.get("kind")
        if kind == "access":
            user_id = message.get("user_id")
            if isinstance(user_id, int):
                self.forget_user(user_id)
        elif kind == "resync":
            self.clear()

    def _drop(self, key: str, user_id: int) -> None:
        self._entries.pop(key, None)
        keys = self._by_user.get(user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_user[user_id]

    def __len__(self) -> int:
        return len(self._entries)


_KEY = "token_cache"


def token_cache(resources: Resources) -> TokenCache:
    """The token cache of these resources, listening to their notices from its first use."""
    cache = resources.extras.get(_KEY)
    if cache is None:
        cache = resources.extras[_KEY] = TokenCache(resources.settings.auth_cache_seconds)
        resources.notice_hooks.append(cache.notice)
    return cast(TokenCache, cache)
