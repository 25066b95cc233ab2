"""The interview commands: add, list, show, edit, rm, sent, heard, close, reopen, snooze,
due, draft."""

from __future__ import annotations

import sys

import click

from followup.cli.common import (
    Context,
    complete_outcomes,
    emit,
    emit_stream,
    id_argument,
    interview_fields,
    interview_id,
    interview_input,
    json_option,
    no_cycle_collection,
    note_twice,
    pass_ctx,
    print_view,
)
from followup.errors import UserError


@click.command()
@interview_fields
@json_option
@pass_ctx
def add(ctx: Context, as_json: bool, **fields) -> None:
    """Record an interview."""
    missing = [f"--{name}" for name in ("company", "role", "at") if fields[name] is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}: add needs --company, --role "
                               "and --at")
    view = ctx.app.add(interview_input(fields))
    print_view(ctx, view, as_json)
    note_twice(ctx, fields["at"])
    if not as_json:
        ctx.hint_no_daemon([view])


@click.command("list")
@click.option("--all", "include_all", is_flag=True, help="Include heard back and closed.")
@json_option
@pass_ctx
def list_(ctx: Context, include_all: bool, as_json: bool) -> None:
    """Interviews still waiting for a reply, with their next nudge."""
    from followup import present

    zone = ctx.settings.zone
    if as_json:
        emit_stream(present.interview_json(v, zone)
                    for views in ctx.app.list_pages(include_all) for v in views)
        return
    with no_cycle_collection():
        promised = _print_list(ctx, include_all)
    ctx.hint_nothing_delivers(promised)


def _print_list(ctx: Context, include_all: bool) -> bool:
    """Print `list`'s table; whether it promises a nudge. The table is gone on return,
    before the cycle collector resumes (see `no_cycle_collection`)."""
    from followup import present

    table = ctx.app.list_table(include_all)
    click.echo(present.list_text(table, ctx.settings.zone))
    return present.list_promises(table)


@click.command()
@id_argument
@json_option
@pass_ctx
def show(ctx: Context, id_: str, as_json: bool) -> None:
    """One interview, its follow-ups and nudges."""
    view = ctx.app.show(interview_id(ctx, id_))
    print_view(ctx, view, as_json, detail=True)
    if not as_json:
        ctx.hint_no_daemon([view])


@click.command()
@id_argument
@interview_fields
@json_option
@pass_ctx
def edit(ctx: Context, id_: str, as_json: bool, **fields) -> None:
    """Change an interview's fields (an empty value clears an optional one)."""
    print_view(ctx, ctx.app.edit(interview_id(ctx, id_), interview_input(fields)), as_json)
    note_twice(ctx, fields["at"])


@click.command()
@id_argument
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_ctx
def rm(ctx: Context, id_: str, yes: bool, as_json: bool) -> None:
    """Delete an interview and its history (asks first on a terminal)."""
    number = interview_id(ctx, id_)
    if not yes and sys.stdin.isatty():
        interview = ctx.app.show(number).interview
        if not click.confirm(f"Delete interview {number} ({interview.company} — "
                             f"{interview.role}) and its whole history?", err=True):
            raise UserError(f"interview {number} was not deleted")
    ctx.app.remove(number)
    if as_json:
        emit({"id": number, "deleted": True})
    else:
        click.echo(f"Deleted interview {number}.")


@click.command()
@id_argument
@click.option("--at", help="When you sent it (default: now).")
@click.option("--note", default="", help="A note about it.")
@click.option("--force", is_flag=True, help="Record it even beyond [rules] max_followups.")
@click.option("--undo", is_flag=True, help="Take back the last recorded follow-up instead.")
@json_option
@pass_ctx
def sent(ctx: Context, id_: str, at: str | None, note: str, force: bool, undo: bool,
         as_json: bool) -> None:
    """Record a follow-up you sent (or, with --undo, take back the last one)."""
    if undo:
        if at or note or force:
            raise click.UsageError("--undo takes no --at, --note or --force")
        print_view(ctx, ctx.app.unsend(interview_id(ctx, id_)), as_json)
        return
    print_view(ctx, ctx.app.sent(interview_id(ctx, id_), at, note, force), as_json)
    note_twice(ctx, at)


@click.command()
@id_argument
@click.option("--outcome", metavar="next-round|offer|rejected|other",
              help="What they said.", shell_complete=complete_outcomes)
@json_option
@pass_ctx
def heard(ctx: Context, id_: str, outcome: str | None, as_json: bool) -> None:
    """The employer replied: stop nudging."""
    print_view(ctx, ctx.app.heard(interview_id(ctx, id_), outcome), as_json)


@click.command()
@id_argument
@json_option
@pass_ctx
def close(ctx: Context, id_: str, as_json: bool) -> None:
    """You withdrew or gave up: stop nudging."""
    print_view(ctx, ctx.app.close(interview_id(ctx, id_)), as_json)


@click.command()
@id_argument
@json_option
@pass_ctx
def reopen(ctx: Context, id_: str, as_json: bool) -> None:
    """Back to waiting: undo `heard` or `close` (a reply misread, say)."""
    print_view(ctx, ctx.app.reopen(interview_id(ctx, id_)), as_json)


# A negative duration ("-1d") reaches the command as the value, not as an unknown option.
@click.command(context_settings={"ignore_unknown_options": True})
@id_argument
@click.argument("duration", metavar="DURATION|DATE", required=False)
@click.option("--clear", is_flag=True, help="Remove the snooze (as DURATION 0 does).")
@json_option
@pass_ctx
def snooze(ctx: Context, id_: str, duration: str | None, clear: bool, as_json: bool) -> None:
    """Push the next nudge back: DURATION like 90m, 4h, 2d, 1.5d, "2 days", or a DATE
    like 2026-12-14 or 2026-12-14T10:00 (not before then); 0 or --clear removes it."""
    if clear and duration is not None:
        raise click.UsageError("give a DURATION (like 2d) or a DATE, or --clear, not both")
    if not clear and duration is None:
        raise click.UsageError("give a DURATION (like 2d) or a DATE (like 2026-12-14), or "
                               "--clear to remove the snooze")
    view = ctx.app.snooze(interview_id(ctx, id_), None if clear else duration)
    print_view(ctx, view, as_json)
    remark = ctx.app.snooze_remark(view)
    if remark and not as_json:
        click.echo(f"note: {remark}", err=True)


@click.command()
@click.option("--days", default="14", metavar="N", help="How far ahead (default 14).")
@json_option
@pass_ctx
def due(ctx: Context, days: str, as_json: bool) -> None:
    """What the daemon will deliver in the next N days, and when."""
    if not (days.isascii() and days.isdigit() and len(days) <= 6 and 1 <= int(days) <= 3650):
        raise click.BadParameter(f"{days!r} is not a whole number of days, 1 or more "
                                 "(at most 3650)", param_hint="--days")
    with no_cycle_collection():
        promised = _print_due(ctx, int(days), as_json)
    if not as_json:
        ctx.hint_nothing_delivers(promised)


def _print_due(ctx: Context, days: int, as_json: bool) -> bool:
    """Print `due`'s table (or JSON); whether a nudge falls due. The table is gone on
    return, before the cycle collector resumes (see `no_cycle_collection`)."""
    from followup import present

    coming, stale = ctx.app.due_table(days)
    if as_json:
        emit(present.due_json(coming, ctx.settings.zone))
    else:
        click.echo(present.due_text(coming, stale, ctx.settings.zone, days))
    return len(coming) > 0


@click.command()
@id_argument
@click.option("--open", "open_it", is_flag=True,
              help="Open it in your mail client (a mailto: link, through xdg-open).")
@click.option("--number", type=click.IntRange(1), metavar="K",
              help="Follow-up K's draft (also one already sent) instead of the next one.")
@json_option
@pass_ctx
def draft(ctx: Context, id_: str, open_it: bool, number: int | None, as_json: bool) -> None:
    """A ready follow-up email for the next follow-up (or follow-up K's)."""
    from followup import content, present

    view, text, number = ctx.app.draft(interview_id(ctx, id_), number)
    if open_it:
        from followup import mailclient

        mailclient.open_mailto(content.mailto(text))
    if as_json:
        emit({"interview_id": view.interview.id, "number": number, "to": text.to,
              "subject": text.subject, "body": text.body, "mailto": content.mailto(text)})
    elif open_it:
        click.echo(f"Opened the draft of follow-up {number} to {view.interview.company} in "
                   "your mail client.")
    else:
        click.echo(present.draft_text(text))


COMMANDS = (add, list_, show, edit, rm, sent, heard, close, reopen, snooze, due, draft)
