"""Setting up and running: config, run, notify-test, password, service."""

from __future__ import annotations

import signal
import sys

import click

from followup import passwords
from followup.cli.common import Context, emit, json_option, pass_ctx
from followup.errors import UserError

# --- configuration ----------------------------------------------------------------------------


@click.group()
def config() -> None:
    """Check, create or locate the configuration file."""


@config.command("check")
@json_option
@pass_ctx
def config_check(ctx: Context, as_json: bool) -> None:
    """Validate the configuration; report every problem."""
    from followup import channels, oauth2
    from followup import config as config_module

    settings = ctx.settings
    warnings = [*config_module.exposure(settings), *channels.readiness(settings),
                *oauth2.readiness(settings)]
    if as_json:
        emit({"ok": True, "path": str(settings.path) if settings.path else None,
              "timezone": settings.timezone, "database": settings.database_shown,
              "channels": list(settings.enabled_channels), "warnings": warnings})
        return
    where = settings.path or "no file; the defaults"
    click.echo(f"ok: {where} (zone {settings.timezone}, database {settings.database_shown}, "
               f"channels: {', '.join(settings.enabled_channels) or 'none'})")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@config.command("init")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_ctx
def config_init(ctx: Context, force: bool) -> None:
    """Write the commented default configuration (0600: it may come to hold a calendar
    feed's secret address)."""
    import os

    from followup import config as config_module
    from followup.channels.bus import session_bus_address
    from followup.files import write_atomically

    path, _ = config_module.find(ctx.config_path)
    if path.exists() and not force:
        raise UserError(f"{path} already exists (use --force to replace it)")
    text = config_module.example_text()
    no_bus = session_bus_address(os.environ) is None
    if no_bus:  # the first `enabled` of [notify.desktop]
        head, section, rest = text.partition("[notify.desktop]\n")
        text = head + section + rest.replace("\nenabled = true\n", "\nenabled = false\n", 1)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, text.encode("utf-8"), 0o600)
    click.echo(f"Wrote {path}")
    if no_bus:
        click.echo("note: no desktop session bus here, so the desktop channel is written "
                   "off ([notify.desktop] enabled = false): enable email, apprise or a "
                   "command to be nudged", err=True)


@config.command("path")
@json_option
@pass_ctx
def config_path(ctx: Context, as_json: bool) -> None:
    """Print the configuration file's path."""
    from followup import config as config_module

    path = config_module.find(ctx.config_path)[0]
    if as_json:
        emit({"path": str(path), "exists": path.exists()})
    else:
        click.echo(str(path))


@click.command("run")
@pass_ctx
def run_daemon(ctx: Context) -> None:
    """The daemon, in the foreground (as the systemd service runs it)."""
    # Until the daemon's loop takes over the signals, a stop request is a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from followup import config as config_module

    sys.exit(ctx.app.run_daemon(lambda: config_module.load(ctx.config_path), ctx.verbose))


@click.command("notify-test")
@click.option("--channel", metavar="NAME",
              help="Only this channel: desktop, email, command or apprise.")
@json_option
@pass_ctx
def notify_test(ctx: Context, channel: str | None, as_json: bool) -> None:
    """Deliver a test nudge through each enabled channel and report."""
    import asyncio

    from followup import channels

    results = asyncio.run(channels.notify_test(ctx.settings, channel))
    if as_json:
        emit({"results": [{"channel": name, "ok": result.ok,
                           "error": None if result.ok else channels.plain(result)}
                          for name, result in results]})
    else:
        for name, result in results:
            click.echo(f"{name}: ok" if result.ok else f"{name}: {channels.plain(result)}")
    if not all(result.ok for _, result in results):
        raise click.exceptions.Exit(1)


# --- passwords ------------------------------------------------------------------------------

PURPOSE = click.Choice(passwords.PURPOSES)
SECTION = passwords.SECTIONS
WHAT = {"smtp": "SMTP", "mailbox": "mailbox", "calendar": "calendar"}


@click.group()
def password() -> None:
    """Store or remove a password (smtp, mailbox, calendar) in the system keyring."""


def login_name(ctx: Context, purpose: str, clearing: bool = False) -> str:
    """The username a purpose's password belongs to, from its section of the settings.
    Raises UserError saying what to set when there is none."""
    settings = ctx.settings
    section = {"smtp": settings.email}.get(purpose) or getattr(settings, purpose, None)
    username = getattr(section, "username", "")
    if username:
        return username
    where = settings.path or "the configuration (`followup config init`)"
    if clearing:
        raise UserError(f"no {WHAT[purpose]} password to remove: {SECTION[purpose]} username "
                        f"is not set in {where} (a password is kept for a username)")
    also = ""
    if purpose == "calendar" and not (settings.calendar.caldav or settings.calendar.feeds):
        also = (" and the calendar that needs it ([calendar] caldav, or feeds): none is "
                "configured")
    raise UserError(f"no {WHAT[purpose]} login to keep a password for: set "
                    f"{SECTION[purpose]} username in {where}{also}")


@password.command("set")
@click.argument("purpose", type=PURPOSE, default="smtp")
@pass_ctx
def password_set(ctx: Context, purpose: str) -> None:
    """Store the password of PURPOSE's username (prompted, or read from stdin)."""
    username = login_name(ctx, purpose)
    if sys.stdin.isatty():
        secret = click.prompt(f"{WHAT[purpose]} password for {username}", hide_input=True,
                              confirmation_prompt=True, err=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise UserError("the password is empty: nothing was stored")
    stored = passwords.set_password(username, secret, purpose)
    if stored.plaintext_file is None:
        click.echo(f"Stored the {WHAT[purpose]} password for {username} in the keyring "
                   f"backend {stored.backend}.")
        return
    click.echo(f"Stored the {WHAT[purpose]} password for {username} in a plain-text file, "
               f"{stored.plaintext_file} ({stored.backend}).")
    click.echo(f"warning: the password is not encrypted there; anyone who can read "
               f"{stored.plaintext_file} can read it (the file is 0600, its folder 0700). "
               "See \"Passwords\" in the README for safer options.", err=True)


@password.command("clear")
@click.argument("purpose", type=PURPOSE, default="smtp")
@pass_ctx
def password_clear(ctx: Context, purpose: str) -> None:
    """Remove the stored password of PURPOSE's username."""
    username = login_name(ctx, purpose, clearing=True)
    if passwords.clear_password(username, purpose):
        click.echo(f"Removed the {WHAT[purpose]} password for {username} from the keyring.")
    else:
        click.echo(f"No {WHAT[purpose]} password was stored for {username}.")


# --- the systemd user service ------------------------------------------------------------------


@click.group()
def service() -> None:
    """Install, remove or inspect the systemd user service."""


@service.command("install")
@click.option("--no-start", is_flag=True, help="Enable the service but do not start it now.")
@pass_ctx
def service_install(ctx: Context, no_start: bool) -> None:
    """Install, enable and start `followup run` as a systemd user service."""
    from followup import config as config_module
    from followup import service as service_module

    settings = ctx.settings  # refuses (exit 78) when the configuration is invalid
    path, explicit = config_module.find(ctx.config_path)
    result = service_module.install(path if explicit else None, start=not no_start)
    click.echo(f"Installed {result.path}" + (" and started it." if result.started
                                             else " (not started)."))
    if not settings.enabled_channels:
        click.echo("Note: no channel is enabled, so nudges will wait; see `followup config "
                   "path`.", err=True)


@service.command("uninstall")
def service_uninstall() -> None:
    """Stop, disable and remove the service (works with a broken configuration)."""
    from followup import service as service_module

    if service_module.uninstall():
        click.echo("The followup service is uninstalled.")
    else:
        click.echo(f"Nothing was installed ({service_module.unit_path()} does not exist).")


@service.command("status")
@json_option
@pass_ctx
def service_status(ctx: Context, as_json: bool) -> None:
    """Whether the service runs (from the user manager, when there is one), and from the
    database: the sources' states, the next nudges, the last deliveries."""
    from followup import present
    from followup import service as service_module

    try:
        state = service_module.status()
    except UserError as error:  # no systemd here (a container, WSL): the rest still helps
        state = error.message
    coming, _ = ctx.app.due_table(14)
    coming = coming.head(5)
    last = ctx.app.store.last_deliveries()
    sources = ctx.app.sources()
    zone = ctx.settings.zone
    db_now, daemons = ctx.app.store.known_daemons()  # on every machine sharing the database
    if as_json:
        service = ({"installed": service_module.unit_path().exists(), "error": state}
                   if isinstance(state, str) else state.to_dict())
        emit(service | {"sources": sources,
                        "next_nudges": present.due_json(coming, zone),
                        "last_deliveries": present.last_deliveries_json(last, zone),
                        "daemons": present.daemons_json(daemons, db_now)})
    else:
        click.echo(present.service_text(state, coming, last, zone, sources))
        click.echo(present.daemons_text(daemons, db_now, zone))


COMMANDS = (config, run_daemon, notify_test, password, service)
