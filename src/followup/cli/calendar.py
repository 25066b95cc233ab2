"""The calendar commands: import interviews from a calendar, export the planned nudges."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from followup.cli.common import Context, emit, json_option, pass_ctx

KINDS = ("added", "updated", "closed", "skipped", "unchanged")


@click.command("import")
@click.argument("source", metavar="FILE_OR_URL")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@json_option
@pass_ctx
def import_(ctx: Context, source: str, dry_run: bool, as_json: bool) -> None:
    """Interviews from an iCalendar file or http(s) feed; importing again changes nothing."""
    try:
        steps = ctx.app.import_calendar(source, dry_run)
    except KeyboardInterrupt:  # the import is one transaction: it was rolled back
        click.echo("interrupted: nothing imported", err=True)
        raise click.exceptions.Exit(130) from None
    if as_json:
        emit({"findings": [finding_json(step, ctx) for step in steps]})
        return
    for step in steps:
        click.echo(finding_line(step, ctx))
    counts = Counter(step.kind for step in steps)
    summary = ", ".join(f"{counts[kind]} {kind}" for kind in KINDS if counts[kind])
    suffix = " (dry run: nothing changed)" if dry_run else ""
    click.echo((summary or "no interview events found") + suffix)


def finding_json(step: Any, ctx: Context) -> dict[str, Any]:
    from followup import present

    at = step.changes.get("interview_at")
    return {"kind": step.kind, "interview_id": step.interview_id, "uid": step.key.uid,
            "recurrence_id": step.key.recurrence_id, "summary": step.summary,
            "reason": step.reason,
            "interview_at": present.iso(at, ctx.settings.zone) if at else None}


def finding_line(step: Any, ctx: Context) -> str:
    number = f"#{step.interview_id}" if step.interview_id is not None else ""
    at = step.changes.get("interview_at")
    when = f" — {at.astimezone(ctx.settings.zone):%a %d %b %Y %H:%M}" if at else ""
    reason = f" ({step.reason})" if step.reason else ""
    return f"{step.kind:<9}  {number:<5} {step.summary}{when}{reason}"


@click.command()
@click.option("--out", "out", metavar="FILE", help="Write to FILE (atomically) instead of "
              "standard output.")
@json_option
@pass_ctx
def export(ctx: Context, out: str | None, as_json: bool) -> None:
    """The planned nudges as an iCalendar file (one event per nudge); with --json, one
    document holding it (`calendar`), or where it was written (`out`, `changed`)."""
    from pathlib import Path

    from followup.files import write_atomically

    data = ctx.app.export_calendar()
    if out is None:
        if as_json:
            emit({"out": None, "changed": None, "calendar": data.decode("utf-8")})
        else:
            click.echo(data, nl=False)
        return
    changed = write_atomically(Path(out).expanduser(), data)
    if as_json:
        emit({"out": out, "changed": changed, "calendar": None})
    else:
        click.echo(f"{'Wrote' if changed else 'Unchanged:'} {out}", err=True)


COMMANDS = (import_, export)
