"""E-mail: the settings, the outbox every mail goes through, the one sender that drains it,
the messages (notifications gathered, digests, invitations), and one-click unsubscribe."""
