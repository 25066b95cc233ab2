"""`followup mailbox scan`: one pass over the mailbox, in the foreground."""

from __future__ import annotations

import sys
from typing import Any

import click

from followup.cli.common import Context, emit, json_option, pass_ctx

BAR_FROM = 500  # messages in one folder: enough to show a progress bar on a terminal


@click.group()
def mailbox() -> None:
    """The mailbox watch: replies stop the nudges, sent follow-ups count."""


@mailbox.command("scan")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@json_option
@pass_ctx
def scan(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Read the mailbox now: apply (or only show) the replies and follow-ups found."""
    with _Bar(enabled=sys.stderr.isatty()) as bar:
        findings = ctx.app.mailbox_scan(dry_run, bar.update,
                                        lambda line: click.echo(line, err=True))
    zone = ctx.settings.zone
    if as_json:
        emit({"findings": [finding_json(f, zone) for f in findings]})
        return
    if not findings:
        click.echo("Nothing new in the mailbox.")
    for finding in findings:
        click.echo(finding_line(finding, zone, dry_run))


def finding_json(finding, zone) -> dict[str, Any]:
    from followup import present

    message = finding.message
    return {
        "kind": str(finding.kind),
        "interview_ids": list(finding.interview_ids),
        "message_id": message.message_id,
        "from": message.sender,
        "to": finding.counterpart if str(finding.kind) in ("followup_sent", "bounce") else None,
        "subject": message.subject,
        "date": present.iso(message.date, zone),
        "returns_on": finding.returns_on.isoformat() if finding.returns_on else None,
        "applied": finding.applied,
        "already_recorded": finding.linked,
    }


def finding_line(finding, zone, dry_run: bool) -> str:
    message = finding.message
    ids = ", ".join(str(i) for i in finding.interview_ids)
    when = message.date.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    state = ("would apply" if dry_run and str(finding.kind) in ("reply", "followup_sent")
             else "already recorded" if finding.linked
             else "applied" if finding.applied else "not applied")
    who = f"to {finding.counterpart}" if str(finding.kind) == "followup_sent" \
        else f"from {message.sender}"
    return (f"{finding.kind:<14} interview {ids:<6} {when}  {who}: "
            f"{message.subject or '(no subject)'}  [{state}]")


class _Bar:
    """A progress bar on stderr for a long first scan, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.shown = 0

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc) -> None:
        self._finish()

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < BAR_FROM:
            return
        if self.bar is None or done < self.shown:
            self._finish()
            self.bar = click.progressbar(length=total, label="Reading headers",
                                         file=sys.stderr)
            self.bar.__enter__()
            self.shown = 0
        self.bar.update(done - self.shown)
        self.shown = done

    def _finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


COMMANDS = (mailbox,)
