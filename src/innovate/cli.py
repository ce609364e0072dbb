"""The ``innovate`` command: serve, db, user, token, export, mail."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from innovate import migrations
from innovate.settings import Settings, SettingsError, load_settings


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def _settings() -> Settings:
    return load_settings()


def _run(coro_fn: Callable[[Settings], Coroutine[Any, Any, Any]]) -> Any:
    settings = _settings()
    return asyncio.run(coro_fn(settings))


# serve ---------------------------------------------------------------------------------


def _default_public_url(settings: Settings, host: str, port: int) -> Settings:
    """Without INNOVATE_PUBLIC_URL, the public URL follows --host/--port, so the setup link,
    invite links and the Origin check match what the browser really opens."""
    if "public_url" in settings.model_fields_set or port == 0:
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}"
    os.environ["INNOVATE_PUBLIC_URL"] = url  # workers read the environment again
    return settings.model_copy(update={"public_url": url})


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _default_public_url(_settings(), args.host, args.port)
    if args.workers > 1 and settings.broker == "memory":
        raise CommandError(
            "--workers > 1 needs a shared broker: set INNOVATE_BROKER=postgres or redis://… "
            "(the memory broker only reaches one process)"
        )
    from innovate.observability import logging_config

    # Workers share their metrics through files; prometheus_client reads this variable when
    # first imported, so it is set before anything imports innovate.metrics.
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="innovate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        # Migrate (SQLite) or refuse (PostgreSQL behind) once, before any worker starts.
        asyncio.run(_prepare_database(settings))
        metrics_server = None
        if settings.metrics_port:
            from innovate import metrics

            metrics_server = metrics.serve_port(args.host, settings.metrics_port, settings.metrics_token)
        _run_uvicorn(args, settings, logging_config(settings.log_format, settings.log_level))
        if metrics_server is not None:
            metrics_server.shutdown()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _run_uvicorn(args: argparse.Namespace, settings: Settings, log_config: dict[str, Any]) -> None:
    import uvicorn

    from innovate.realtime import fastpath

    uvicorn.run(
        "innovate.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws=fastpath.SERVER_PROTOCOL,
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
        log_level=settings.log_level,
        timeout_graceful_shutdown=args.graceful_timeout,
        server_header=False,
        log_config=log_config,
        # A worker that is still importing or migrating on a busy host is not dead yet.
        timeout_worker_healthcheck=30,
    )


async def _prepare_database(settings: Settings) -> None:
    from innovate.app import NotMigrated, open_resources

    try:
        resources = await open_resources(settings)
    except NotMigrated as exc:
        raise CommandError(str(exc)) from None
    await resources.engine.dispose()


# db ------------------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    async def upgrade(settings: Settings) -> str | None:
        from innovate.db import create_engine

        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url, pool_size=1)
        try:
            await migrations.upgrade(engine)
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    revision = _run(upgrade)
    print(f"database is at revision {revision}")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from innovate.backups import BackupError, backup

    try:
        path = backup(_settings(), Path(args.path), force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"backup written to {path}")
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from innovate.backups import BackupError, restore

    try:
        restore(_settings(), Path(args.path), force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored from {args.path}; start the app (it migrates SQLite; run `innovate db upgrade` for PostgreSQL)")
    return 0


# user / token --------------------------------------------------------------------------


def _read_password(no_password: bool) -> str | None:
    if no_password:
        return None
    if sys.stdin is None:
        return None
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Repeat password: ")
        if first != second:
            raise CommandError("the passwords do not match")
        return first
    lines = [line.rstrip("\r\n") for line in sys.stdin.read().splitlines()]
    lines = [line for line in lines if line != ""]
    if not lines:
        return None
    if len(lines) >= 2 and lines[0] != lines[1]:
        raise CommandError("the passwords do not match")
    return lines[0]


def cmd_user_create(args: argparse.Namespace) -> int:
    from innovate.accounts import links
    from innovate.accounts.local import create_local_user
    from innovate.app import open_resources
    from innovate.errors import AppError

    password = _read_password(args.no_password)

    async def create(settings: Settings) -> tuple[Any, str | None]:
        resources = await open_resources(settings)
        try:
            user = await create_local_user(
                resources, args.email, password, name=args.name or "",
                kind="guest" if args.guest else "employee", is_admin=args.admin, is_moderator=args.moderator,
            )
            link = None if password is not None else await links.create_link(resources, links.SET_PASSWORD, user_id=user.id)
            return user, link
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    user, link = _run(create)
    roles = [r for r, on in (("admin", args.admin), ("moderator", args.moderator), ("guest", args.guest)) if on]
    print(f"created user {user.id} <{user.email}>" + (f" ({', '.join(roles)})" if roles else ""))
    if link:
        print(f"set-password link (one use): {link}")
    return 0


def cmd_user_export(args: argparse.Namespace) -> int:
    from innovate.accounts.local import find_user_by_email
    from innovate.app import open_resources
    from innovate.people.personal import write_personal_data

    out = Path(args.out)
    if str(out) != "-" and out.exists() and not args.force:
        raise CommandError(f"{out} exists; pass --force to replace it")

    async def export(settings: Settings) -> int:
        resources = await open_resources(settings)
        try:
            user = await find_user_by_email(resources, args.email)
            if user is None:
                raise CommandError(f"no user with e-mail {args.email}")
            if str(out) == "-":
                await write_personal_data(resources, user.id, sys.stdout.buffer)
                sys.stdout.flush()
                return user.id
            # Written beside the target and renamed at the end: a failed export leaves no half file.
            partial = out.with_name(out.name + ".part")
            try:
                with partial.open("wb") as handle:
                    await write_personal_data(resources, user.id, handle)
                partial.replace(out)
            finally:
                partial.unlink(missing_ok=True)
            return user.id
        finally:
            await resources.engine.dispose()

    user_id = _run(export)
    if str(out) != "-":
        print(f"exported the personal data of user {user_id} to {out}", file=sys.stderr)
    return 0


def cmd_user_erase(args: argparse.Namespace) -> int:
    from innovate.accounts.local import find_user_by_email
    from innovate.app import open_resources
    from innovate.errors import AppError
    from innovate.people.erase import erase_user

    async def erase(settings: Settings) -> int:
        resources = await open_resources(settings)
        try:
            user = await find_user_by_email(resources, args.email)
            if user is None:
                raise CommandError(f"no user with e-mail {args.email}")
            erased = await erase_user(resources, None, user.id, delete_content=args.delete_content)
            return erased.former_member_id
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    former = _run(erase)
    what = "their messages and ideas deleted" if args.delete_content else "their messages and ideas kept"
    print(f"erased {args.email}: now Former member {former} ({what})")
    return 0


def cmd_scim_token_create(args: argparse.Namespace) -> int:
    from innovate.app import open_resources
    from innovate.errors import AppError
    from innovate.scim.tokens import create_scim_token

    async def create(settings: Settings) -> tuple[int, str]:
        resources = await open_resources(settings)
        try:
            row, token = await create_scim_token(resources, None, args.name)
            return row.id, token
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    token_id, token = _run(create)
    print(f"SCIM token {token_id} (shown once): {token}")
    return 0


def cmd_scim_token_revoke(args: argparse.Namespace) -> int:
    from innovate.app import open_resources
    from innovate.errors import AppError
    from innovate.scim.tokens import revoke_scim_token

    async def revoke(settings: Settings) -> None:
        resources = await open_resources(settings)
        try:
            await revoke_scim_token(resources, None, args.id)
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    _run(revoke)
    print(f"SCIM token {args.id} revoked")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from innovate.accounts.local import find_user_by_email
    from innovate.accounts.tokens import create_token
    from innovate.app import open_resources
    from innovate.errors import AppError

    async def create(settings: Settings) -> str:
        resources = await open_resources(settings)
        try:
            user = await find_user_by_email(resources, args.email)
            if user is None or not user.is_active:
                raise CommandError(f"no active user with e-mail {args.email}")
            _, token = await create_token(resources, user, args.name or "cli")
            return token
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    token = _run(create)
    print(f"token (shown once): {token}")
    return 0


# export --------------------------------------------------------------------------------

EXPORT_PROGRESS_FROM = 5000  # rows: shorter exports finish before a bar would help


def cmd_export(args: argparse.Namespace) -> int:
    from innovate.app import open_resources
    from innovate.errors import AppError
    from innovate.insights import exports

    out = Path(args.out)
    if str(out) != "-" and out.exists() and not args.force:
        raise CommandError(f"{out} exists; pass --force to replace it")

    async def export(settings: Settings) -> int:
        resources = await open_resources(settings)
        try:
            room = await exports.room_by_slug(resources, args.room)
            total, _ = await exports.bounds(resources, room, args.kind)
            if str(out) == "-":
                await exports.write_file(resources, room, args.kind, args.format, sys.stdout.buffer)
                sys.stdout.flush()
                return total
            # Written beside the target and renamed at the end: a failed export leaves no half file.
            partial = out.with_name(out.name + ".part")
            try:
                with partial.open("wb") as handle, _export_progress(total, args.kind) as advance:
                    await exports.write_file(resources, room, args.kind, args.format, handle, on_rows=advance)
                partial.replace(out)
            finally:
                partial.unlink(missing_ok=True)
            return total
        except AppError as exc:
            raise CommandError(exc.message) from None
        finally:
            await resources.engine.dispose()

    rows = _run(export)
    if str(out) != "-":
        print(f"exported {rows} {args.kind} rows of {args.room} to {out}", file=sys.stderr)
    return 0


@contextmanager
def _export_progress(total: int, kind: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long exports; a no-op for short ones."""
    if total < EXPORT_PROGRESS_FROM:
        yield lambda rows: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn(f"exporting {kind}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(kind, total=total)
        yield lambda rows: progress.advance(task, rows)


# mail ----------------------------------------------------------------------------------


def cmd_mail_test(args: argparse.Namespace) -> int:
    """Send one mail straight to the server (not through the outbox) and say how it went."""
    from innovate.mail.test_mail import send_test_mail

    settings = _settings()
    if not settings.mail_enabled:
        raise CommandError("e-mail is off: set INNOVATE_SMTP_URL and INNOVATE_MAIL_FROM")
    ok, line = asyncio.run(send_test_mail(settings, args.address))
    print(line)
    return 0 if ok else 1


# parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="innovate", description="Innovate: live innovation challenges.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--forwarded-allow-ips", default="",
                       help="proxy addresses whose X-Forwarded-* headers are trusted (comma-separated)")
    serve.add_argument("--graceful-timeout", type=int, default=10, help="seconds to finish requests on shutdown")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    dump = db.add_parser("backup", help="write a consistent backup (SQLite: online copy; PostgreSQL: pg_dump)")
    dump.add_argument("path")
    dump.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    dump.set_defaults(func=cmd_db_backup)
    load = db.add_parser("restore", help="replace the database with a backup (stop the app first)")
    load.add_argument("path")
    load.add_argument("--force", action="store_true", help="replace an existing database")
    load.set_defaults(func=cmd_db_restore)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a local account (password from stdin, or a set-password link)")
    create.add_argument("email")
    create.add_argument("--name", default="")
    create.add_argument("--admin", action="store_true")
    create.add_argument("--moderator", action="store_true", help="may create and run challenge rooms")
    create.add_argument("--guest", action="store_true")
    create.add_argument("--no-password", action="store_true", help="print a one-time set-password link instead")
    create.set_defaults(func=cmd_user_create)
    uexport = user.add_parser("export", help="write every record about a person as one JSON document")
    uexport.add_argument("email")
    uexport.add_argument("--out", required=True, metavar="PATH", help="the file to write, or - for stdout")
    uexport.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    uexport.set_defaults(func=cmd_user_export)
    uerase = user.add_parser("erase", help="erase a person: they become a Former member")
    uerase.add_argument("email")
    uerase.add_argument("--delete-content", action="store_true", help="delete their messages and ideas too")
    uerase.set_defaults(func=cmd_user_erase)

    token = sub.add_parser("token", help="personal access tokens").add_subparsers(dest="token_command", required=True)
    tcreate = token.add_parser("create", help="create a token for a user and print it once")
    tcreate.add_argument("email")
    tcreate.add_argument("--name", default="cli")
    tcreate.set_defaults(func=cmd_token_create)

    scim = sub.add_parser("scim", help="SCIM provisioning").add_subparsers(dest="scim_command", required=True)
    stoken = scim.add_parser("token", help="SCIM bearer tokens").add_subparsers(dest="scim_token_command", required=True)
    screate = stoken.add_parser("create", help="create a token for a directory (Entra ID, Okta...) and print it once")
    screate.add_argument("--name", default="directory")
    screate.set_defaults(func=cmd_scim_token_create)
    srevoke = stoken.add_parser("revoke", help="revoke a SCIM token at once")
    srevoke.add_argument("id", type=int)
    srevoke.set_defaults(func=cmd_scim_token_revoke)

    mail = sub.add_parser("mail", help="e-mail").add_subparsers(dest="mail_command", required=True)
    mtest = mail.add_parser("test", help="send a test mail and print the SMTP outcome in one line")
    mtest.add_argument("address")
    mtest.set_defaults(func=cmd_mail_test)

    export = sub.add_parser("export", help="write a room's ideas, votes, messages or audit log as CSV or JSON")
    export.add_argument("room", metavar="ROOM", help="the room's address (slug)")
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--out", required=True, metavar="PATH", help="the file to write, or - for stdout")
    export.add_argument("--kind", choices=("ideas", "votes", "messages", "audit", "reviews"), default="ideas")
    export.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"innovate: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"innovate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
