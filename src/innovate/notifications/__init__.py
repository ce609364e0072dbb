"""Notifications: what an event tells the people it concerns, stored per recipient in the
transaction of the change; the bell, the inbox, the JSON API and each person's settings."""
