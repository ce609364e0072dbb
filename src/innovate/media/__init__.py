"""Pictures people upload: checked, cleaned, resized, stored in the database, served cached.

How a domain uses it (persona portraits, story pictures)::

    from innovate.media import pictures, store

    PORTRAIT = pictures.Profile("portrait", sizes={"large": 512, "small": 96}, fmt="webp")

    # in the view or service, before the write transaction (decoding runs off the event loop):
    prepared = await pictures.prepare(data.get("picture"), field="picture", profile=PORTRAIT,
                                      max_bytes=settings.upload_max_bytes)
    alt = pictures.alt_text(data, "picture_alt")            # required: 422 naming the field
    async with write(resources) as (db, outbox):
        picture = await store.save(db, prepared, alt=alt, owner_id=user.id)
        row.picture_key = picture.key                       # keep the key, not an id
    # later: picture = await store.load(db, key); picture.url("small"), picture.alt

Templates show it with ``{% from "media/_picture.html" import picture %}{{ picture(pic, "large") }}``,
which always writes the alt text, the width and the height. ``GET /media/{key}/{size}.{ext}``
serves it with a strong ETag and a year of ``Cache-Control`` (a key's bytes never change: a new
upload is a new key).

Pictures live in the database (``media``, ``media_renditions``), not on a disk: every app
process and replica reads the same rows, on PostgreSQL and on SQLite, and backups hold them.
"""
