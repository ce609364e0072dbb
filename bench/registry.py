"""Every benchmark target, registered: the reference servers (``bench.targets``) and the
application (``bench.innovate_target``, which registers itself on import). Whatever looks a
target up by name imports the registry from here."""

from __future__ import annotations

from bench import innovate_target  # noqa: F401 - registers the application target
from bench.targets import TARGETS, from_spec

__all__ = ["TARGETS", "from_spec"]
