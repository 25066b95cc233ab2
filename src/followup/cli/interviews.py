"""The interview commands: add, list, show, edit, rm, sent, heard, close, snooze, due, draft."""

from __future__ import annotations

import click

from followup.cli.common import (
    Context,
    emit,
    interview_fields,
    interview_id,
    json_option,
    pass_ctx,
    print_view,
)
from followup.errors import UserError


@click.command()
@interview_fields
@json_option
@pass_ctx
def add(ctx: Context, as_json: bool, **fields: str | None) -> None:
    """Record an interview."""
    from followup.app import InterviewInput

    print_view(ctx, ctx.app.add(InterviewInput(**fields)), as_json)


@click.command("list")
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


@click.command()
@click.argument("id_", metavar="ID")
@json_option
@pass_ctx
def show(ctx: Context, id_: str, as_json: bool) -> None:
    """One interview, its follow-ups and nudges."""
    print_view(ctx, ctx.app.show(interview_id(id_)), as_json, detail=True)


@click.command()
@click.argument("id_", metavar="ID")
@interview_fields
@json_option
@pass_ctx
def edit(ctx: Context, id_: str, as_json: bool, **fields: str | None) -> None:
    """Change an interview's fields (an empty value clears an optional one)."""
    from followup.app import InterviewInput

    print_view(ctx, ctx.app.edit(interview_id(id_), InterviewInput(**fields)), as_json)


@click.command()
@click.argument("id_", metavar="ID")
@pass_ctx
def rm(ctx: Context, id_: str) -> None:
    """Delete an interview and its history."""
    number = interview_id(id_)
    ctx.app.remove(number)
    click.echo(f"Deleted interview {number}.")


@click.command()
@click.argument("id_", metavar="ID")
@click.option("--at", help="When you sent it (default: now).")
@click.option("--note", default="", help="A note about it.")
@json_option
@pass_ctx
def sent(ctx: Context, id_: str, at: str | None, note: str, as_json: bool) -> None:
    """Record a follow-up you sent."""
    print_view(ctx, ctx.app.sent(interview_id(id_), at, note), as_json)


@click.command()
@click.argument("id_", metavar="ID")
@click.option("--outcome", metavar="next-round|offer|rejected|other",
              help="What they said.")
@json_option
@pass_ctx
def heard(ctx: Context, id_: str, outcome: str | None, as_json: bool) -> None:
    """The employer replied: stop nudging."""
    print_view(ctx, ctx.app.heard(interview_id(id_), outcome), as_json)


@click.command()
@click.argument("id_", metavar="ID")
@json_option
@pass_ctx
def close(ctx: Context, id_: str, as_json: bool) -> None:
    """You withdrew or gave up: stop nudging."""
    print_view(ctx, ctx.app.close(interview_id(id_)), as_json)


@click.command()
@click.argument("id_", metavar="ID")
@click.argument("duration")
@json_option
@pass_ctx
def snooze(ctx: Context, id_: str, duration: str, as_json: bool) -> None:
    """Push the next nudge back: DURATION like 90m, 4h, 2d."""
    print_view(ctx, ctx.app.snooze(interview_id(id_), duration), as_json)


@click.command()
@click.option("--days", default="14", metavar="N", help="How far ahead (default 14).")
@json_option
@pass_ctx
def due(ctx: Context, days: str, as_json: bool) -> None:
    """What the daemon will deliver in the next N days, and when."""
    from followup import present

    if not (days.isascii() and days.isdigit()) or len(days) > 6:
        raise UserError(f"--days {days!r} is not a whole number of days")
    coming, stale = ctx.app.due(int(days))
    if as_json:
        emit(present.due_json(coming, ctx.settings.zone))
    else:
        click.echo(present.due_table(coming, stale, ctx.settings.zone, ctx.app.now(),
                                     int(days)))


@click.command()
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


COMMANDS = (add, list_, show, edit, rm, sent, heard, close, snooze, due, draft)
