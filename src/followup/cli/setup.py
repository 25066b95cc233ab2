"""Setting up and running: config, run, notify-test, password, service."""

from __future__ import annotations

import signal
import sys

import click

from followup.cli.common import Context, emit, json_option, pass_ctx
from followup.errors import UserError

# --- configuration ----------------------------------------------------------------------------


@click.group()
def config() -> None:
    """Check, create or locate the configuration file."""


@config.command("check")
@pass_ctx
def config_check(ctx: Context) -> None:
    """Validate the configuration; report every problem."""
    settings = ctx.settings
    where = settings.path or "no file; the defaults"
    click.echo(f"ok: {where} (zone {settings.timezone}, database {settings.database_url}, "
               f"channels: {', '.join(settings.enabled_channels) or 'none'})")


@config.command("init")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_ctx
def config_init(ctx: Context, force: bool) -> None:
    """Write the commented default configuration."""
    from followup import config as config_module

    path, _ = config_module.find(ctx.config_path)
    if path.exists() and not force:
        raise UserError(f"{path} already exists (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(config_module.example_text(), encoding="utf-8")
    click.echo(f"Wrote {path}")


@config.command("path")
@pass_ctx
def config_path(ctx: Context) -> None:
    """Print the configuration file's path."""
    from followup import config as config_module

    click.echo(str(config_module.find(ctx.config_path)[0]))


@click.command("run")
@pass_ctx
def run_daemon(ctx: Context) -> None:
    """The daemon, in the foreground (as the systemd service runs it)."""
    # Until the daemon's loop takes over the signals, a stop request is a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from followup import config as config_module

    code = ctx.app.run_daemon(lambda: config_module.load(ctx.config_path), ctx.verbose)
    if code:
        raise SystemExit(code)


@click.command("notify-test")
@click.option("--channel", metavar="NAME", help="Only this channel: desktop, email or command.")
@pass_ctx
def notify_test(ctx: Context, channel: str | None) -> None:
    """Deliver a test nudge through each enabled channel and report."""
    import asyncio

    from followup import channels

    results = asyncio.run(channels.notify_test(ctx.settings, channel))
    for name, result in results:
        click.echo(f"{name}: ok" if result.ok else f"{name}: {result.outcome}: {result.reason}")
    if not all(result.ok for _, result in results):
        raise SystemExit(1)


# --- the SMTP password -----------------------------------------------------------------------


@click.group()
def password() -> None:
    """Store or remove the SMTP password in the system keyring."""


def smtp_username(ctx: Context) -> str:
    username = ctx.settings.email.username
    if not username:
        where = ctx.settings.path or "the configuration (`followup config init`)"
        raise UserError(f"no SMTP login to keep a password for: set [notify.email] username "
                        f"in {where}")
    return username


@password.command("set")
@pass_ctx
def password_set(ctx: Context) -> None:
    """Store the password of [notify.email] username (prompted, or read from stdin)."""
    from followup import passwords

    username = smtp_username(ctx)
    if sys.stdin.isatty():
        secret = click.prompt(f"SMTP password for {username}", hide_input=True,
                              confirmation_prompt=True, err=True)
    else:
        secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise UserError("the password is empty: nothing was stored")
    passwords.set_password(username, secret)
    click.echo(f"Stored the SMTP password for {username} in the system keyring.")


@password.command("clear")
@pass_ctx
def password_clear(ctx: Context) -> None:
    """Remove the stored password of [notify.email] username."""
    from followup import passwords

    username = smtp_username(ctx)
    if passwords.clear_password(username):
        click.echo(f"Removed the SMTP password for {username} from the system keyring.")
    else:
        click.echo(f"No SMTP password was stored for {username}.")


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

    service_module.uninstall()
    click.echo("The followup service is uninstalled.")


@service.command("status")
@json_option
@pass_ctx
def service_status(ctx: Context, as_json: bool) -> None:
    """Whether the service runs, since when, its status, next nudges, last deliveries."""
    from followup import present
    from followup import service as service_module

    state = service_module.status()
    coming, _ = ctx.app.due(14)
    last = ctx.app.store.last_deliveries()
    zone, now = ctx.settings.zone, ctx.app.now()
    db_now, daemons = ctx.app.store.known_daemons()  # on every machine sharing the database
    if as_json:
        emit(state.to_dict() | {"next_nudges": present.due_json(coming[:5], zone),
                                "last_deliveries": present.last_deliveries_json(last, zone),
                                "daemons": service_module.daemons_json(daemons, db_now)})
    else:
        click.echo(present.service_text(state, coming[:5], last, zone, now))
        click.echo(service_module.daemons_text(daemons, db_now, zone))


COMMANDS = (config, run_daemon, notify_test, password, service)
