"""The command line: parse, call a use case, print.

`main` is the one place that turns errors into messages and exit codes:
0 done, 1 wrong input or not found, 2 usage, 78 configuration. Heavy
modules (SQLAlchemy, APScheduler, the channels) are imported only by the
commands that need them, so `followup --help` starts fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from followup.errors import ConfigError, UserError

if TYPE_CHECKING:
    from followup.app import App, View
    from followup.config import Settings


class Context:
    """What every command may need, built on first use."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose

    @cached_property
    def settings(self) -> Settings:
        from followup import config

        return config.load(self.config_path)

    @cached_property
    def app(self) -> App:
        from followup.app import App

        return App(self.settings)


pass_ctx = click.make_pass_decorator(Context)


def emit(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def interview_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise UserError(f"{text!r} is not an interview id (a number, see `followup list`)")
    return int(text)


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(
        command)


def interview_fields(command: Callable) -> Callable:
    """The options of `add` and `edit`."""
    options = [
        click.option("--company", help="The employer."),
        click.option("--role", help="The position you interviewed for."),
        click.option("--at", help="When: ISO 8601, e.g. 2026-11-24T14:30 (local time)."),
        click.option("--interviewer", help="Who interviewed you."),
        click.option("--email", help="Their email address, for the draft."),
        click.option("--notes", help="What you talked about; the draft refers to it."),
        click.option("--reply-by", help="The date they said they would reply by."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def print_view(ctx: Context, view: View, as_json: bool, detail: bool = False) -> None:
    from followup import present

    zone = ctx.settings.zone
    if as_json:
        emit(present.interview_json(view, zone, detail=detail))
    else:
        click.echo(present.interview_detail(view, zone, ctx.app.now()))


# --- the commands ---------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="The configuration file (default: $FOLLOWUP_CONFIG, then "
                   "~/.config/followup/followup.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
@click.version_option(package_name="followup")
@click.pass_context
def cli(click_ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Remembers your job interviews and tells you when to follow up, politely."""
    click_ctx.obj = Context(config_path, verbose)


@cli.command()
@interview_fields
@json_option
@pass_ctx
def add(ctx: Context, as_json: bool, **fields: str | None) -> None:
    """Record an interview."""
    from followup.app import InterviewInput

    print_view(ctx, ctx.app.add(InterviewInput(**fields)), as_json)


@cli.command("list")
@click.option("--all", "include_all", is_flag=True, help="Include heard back and closed.")
@json_option
@pass_ctx
def list_(ctx: Context, include_all: bool, as_json: bool) -> None:
    """Interviews still waiting for a reply, with their next nudge."""
    from followup import present

    views = ctx.app.list(include_all)
    if as_json:
        emit([present.interview_json(v, ctx.settings.zone) for v in views])
    else:
        click.echo(present.interview_table(views, ctx.settings.zone, ctx.app.now()))


@cli.command()
@click.argument("id_", metavar="ID")
@json_option
@pass_ctx
def show(ctx: Context, id_: str, as_json: bool) -> None:
    """One interview, its follow-ups and nudges."""
    print_view(ctx, ctx.app.show(interview_id(id_)), as_json, detail=True)


@cli.command()
@click.argument("id_", metavar="ID")
@interview_fields
@json_option
@pass_ctx
def edit(ctx: Context, id_: str, as_json: bool, **fields: str | None) -> None:
    """Change an interview's fields (an empty value clears an optional one)."""
    from followup.app import InterviewInput

    print_view(ctx, ctx.app.edit(interview_id(id_), InterviewInput(**fields)), as_json)


@cli.command()
@click.argument("id_", metavar="ID")
@pass_ctx
def rm(ctx: Context, id_: str) -> None:
    """Delete an interview and its history."""
    number = interview_id(id_)
    ctx.app.remove(number)
    click.echo(f"Deleted interview {number}.")


@cli.command()
@click.argument("id_", metavar="ID")
@click.option("--at", help="When you sent it (default: now).")
@click.option("--note", default="", help="A note about it.")
@json_option
@pass_ctx
def sent(ctx: Context, id_: str, at: str | None, note: str, as_json: bool) -> None:
    """Record a follow-up you sent."""
    print_view(ctx, ctx.app.sent(interview_id(id_), at, note), as_json)


@cli.command()
@click.argument("id_", metavar="ID")
@click.option("--outcome", metavar="next-round|offer|rejected|other",
              help="What they said.")
@json_option
@pass_ctx
def heard(ctx: Context, id_: str, outcome: str | None, as_json: bool) -> None:
    """The employer replied: stop nudging."""
    print_view(ctx, ctx.app.heard(interview_id(id_), outcome), as_json)


@cli.command()
@click.argument("id_", metavar="ID")
@json_option
@pass_ctx
def close(ctx: Context, id_: str, as_json: bool) -> None:
    """You withdrew or gave up: stop nudging."""
    print_view(ctx, ctx.app.close(interview_id(id_)), as_json)


@cli.command()
@click.argument("id_", metavar="ID")
@click.argument("duration")
@json_option
@pass_ctx
def snooze(ctx: Context, id_: str, duration: str, as_json: bool) -> None:
    """Push the next nudge back: DURATION like 90m, 4h, 2d."""
    print_view(ctx, ctx.app.snooze(interview_id(id_), duration), as_json)


@cli.command()
@click.option("--days", default="14", metavar="N", help="How far ahead (default 14).")
@json_option
@pass_ctx
def due(ctx: Context, days: str, as_json: bool) -> None:
    """What the daemon will deliver in the next N days, and when."""
    from followup import present

    if not days.isdigit():
        raise UserError(f"--days {days!r} is not a whole number of days")
    coming, stale = ctx.app.due(int(days))
    if as_json:
        emit(present.due_json(coming, ctx.settings.zone))
    else:
        click.echo(present.due_table(coming, stale, ctx.settings.zone, ctx.app.now(),
                                     int(days)))


@cli.command()
@click.argument("id_", metavar="ID")
@json_option
@pass_ctx
def draft(ctx: Context, id_: str, as_json: bool) -> None:
    """A ready follow-up email for the next follow-up."""
    from followup import content, present

    view, text, number = ctx.app.draft(interview_id(id_))
    if as_json:
        emit({"interview_id": view.interview.id, "number": number, "to": text.to,
              "subject": text.subject, "body": text.body, "mailto": content.mailto(text)})
    else:
        click.echo(present.draft_text(text))


# --- configuration ----------------------------------------------------------------------------


@cli.group()
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


@cli.command("run")
@pass_ctx
def run_daemon(ctx: Context) -> None:
    """The daemon, in the foreground (as the systemd service runs it)."""
    from followup import config as config_module

    code = ctx.app.run_daemon(lambda: config_module.load(ctx.config_path), ctx.verbose)
    if code:
        raise SystemExit(code)


@cli.command("notify-test")
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


@cli.group()
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


@cli.group()
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
    if as_json:
        emit(state.to_dict() | {"next_nudges": present.due_json(coming[:5], zone),
                                "last_deliveries": present.last_deliveries_json(last, zone)})
    else:
        click.echo(present.service_text(state, coming[:5], last, zone, now))


# --- running ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command line and exit with the documented code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") for a in args)
    sys.exit(execute(args, verbose))


def execute(args: list[str], verbose: bool = False) -> int:
    """Run one command line; return the exit code. Never raises for a user's mistake."""
    try:
        cli.main(args=args, prog_name="followup", standalone_mode=False)
        return 0
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except ConfigError as error:
        click.echo(error.message, err=True)
        return error.exit_code
    except UserError as error:
        click.echo(f"error: {error.message}", err=True)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the last resort: one line unless -v asks for more
        if verbose:
            raise
        click.echo(f"unexpected error: {type(error).__name__}: {error} "
                   "(run with -v for the traceback)", err=True)
        return 1
