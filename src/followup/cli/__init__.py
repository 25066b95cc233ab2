"""The command line: parse, call a use case, print.

`main` is the one place that turns errors into messages and exit codes:
0 done, 1 wrong input or not found, 2 usage, 78 configuration. Heavy
modules (SQLAlchemy, APScheduler, the channels) are imported only by the
commands that need them, so `followup --help` starts fast.
"""

from __future__ import annotations

import os
import sys

import click

from followup.cli import calendar, interviews, mailbox, setup
from followup.cli.common import Context
from followup.errors import ConfigError, UserError


def _default_config() -> str:
    """Where the configuration is looked for by default, as `--help` shows it (the XDG
    config home, as `config.default_path` finds it, without importing platformdirs)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not sys.platform.startswith("linux"):
        from followup.config import default_path

        return str(default_path())
    folder = base if os.path.isabs(base) else "~/.config"
    return f"{folder}/followup/followup.toml"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="The configuration file (default: $FOLLOWUP_CONFIG, then "
                   f"{_default_config()}).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging and full tracebacks.")
@click.version_option(package_name="followup")
@click.pass_context
def cli(click_ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Remembers your job interviews and tells you when to follow up, politely."""
    click_ctx.obj = Context(config_path, verbose)
    click_ctx.call_on_close(click_ctx.obj.finish)


for command in (*interviews.COMMANDS, *setup.COMMANDS, *mailbox.COMMANDS, *calendar.COMMANDS):
    cli.add_command(command)


# --- running ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command line and exit with the documented code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") for a in args)
    sys.exit(execute(args, verbose))


def execute(args: list[str], verbose: bool = False) -> int:
    """Run one command line; return the exit code. Never raises for a user's mistake."""
    try:
        # click returns the code of a `click.exceptions.Exit` instead of raising it.
        code = cli.main(args=args, prog_name="followup", standalone_mode=False)
        return code if isinstance(code, int) else 0
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
