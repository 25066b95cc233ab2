"""What the commands share: the lazily built context, JSON output, option sets."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from followup.errors import UserError

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

    def finish(self) -> None:
        """After a command that used the database: say once that the zone changed."""
        if "app" in self.__dict__ and "store" in self.app.__dict__:
            try:
                lines = self.app.zone_change()
            except UserError:
                return  # the database itself failed; the command already said so
            for line in lines:
                click.echo(line, err=True)

    def hint_no_daemon(self, views: Sequence[View]) -> None:
        """A promised nudge that nothing will deliver: say so, and how to fix it."""
        self.hint_nothing_delivers(any(view.due_next for view in views))

    def hint_nothing_delivers(self, promised: bool) -> None:
        """`hint_no_daemon` when a nudge was `promised`."""
        if promised and not self.app.daemon_listening():
            click.echo("note: no followup daemon is running for this database, so no nudge "
                       "will be delivered: start it with `followup service install` (or "
                       "`followup run` in a terminal)", err=True)


pass_ctx = click.make_pass_decorator(Context)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a command builds a large table. The
    collector runs each time some hundreds of containers have been allocated and its
    full passes walk every object the process holds; a table of 75,000 rows (tuples of
    plain values, which form no cycle) made it run for 0.1-0.15 s of `list`'s 0.7 s at
    100,000 interviews. Let the table go before the block ends: the containers
    allocated meanwhile and still alive are collected as soon as it resumes (0.02-0.06
    s with the table alive). The process ends soon after, the daemon never pauses it.
    Mercurial does the same (`util.nogc`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def emit(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def emit_stream(items: Iterable[Any], every: int = 500) -> None:
    """A JSON list written `every` items at a time as they come, one item a line:
    json's C encoder writes only compact JSON, eight times faster than the indented
    form `emit` prints, which is what `list --json` needs at 100,000 interviews."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    texts: list[str] = []
    first = True
    for item in items:
        texts.append(("[\n  " if first else ",\n  ") + encode(item))
        first = False
        if len(texts) >= every:
            click.echo("".join(texts), nl=False)
            texts = []
    click.echo("".join(texts) + ("[]" if first else "\n]"))


def interview_id(ctx: Context, text: str) -> int:
    """An interview's id, typed as its number or as the company of exactly one interview
    still waiting (any case)."""
    if text.isascii() and text.isdigit():
        if len(text) > 18 or int(text) < 1:
            raise UserError(f"{text!r} is not an interview id (a number, see `followup list`)")
        return int(text)
    return ctx.app.by_company(text)


def id_argument(command: Callable) -> Callable:
    """The ID argument: a number or a company; the shell completes the waiting ones."""
    return click.argument("id_", metavar="ID", shell_complete=complete_ids)(command)


def complete_ids(click_ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """The waiting interviews' ids, each with its company and role as the help text; or
    their companies, when that is what is being typed. Nothing when the configuration
    or the database cannot be read (completion never prints an error)."""
    from click.shell_completion import CompletionItem

    try:
        config_path = click_ctx.find_root().params.get("config_path")
        rows = list(Context(config_path, False).app.list_table().rows())
    except Exception:  # a broken configuration, no database yet: no completions
        return []
    by_id = [CompletionItem(str(id_), help=f"{company} — {role}")
             for id_, company, role, *_ in rows if str(id_).startswith(incomplete)]
    if by_id or not incomplete:
        return by_id
    folded = incomplete.casefold()
    return [CompletionItem(company, help="company") for company in
            dict.fromkeys(company for _, company, *_ in rows
                          if company.casefold().startswith(folded))]


def complete_outcomes(click_ctx: click.Context, param: click.Parameter,
                      incomplete: str) -> list[str]:
    from followup.models import ReplyOutcome

    return [str(o) for o in ReplyOutcome if str(o).startswith(incomplete)]


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(
        command)


def once(click_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
         ) -> str | None:
    """A single-valued option given twice is a usage error, not "the last one wins"."""
    if len(values) > 1:
        raise click.BadParameter(f"given {len(values)} times ({', '.join(map(repr, values))}); "
                                 "give it once", ctx=click_ctx, param=param)
    return values[0] if values else None


def single(*names: str, **kwargs: Any) -> Callable:
    """An option that takes one value and refuses to be repeated (see `once`)."""
    return click.option(*names, multiple=True, callback=once, **kwargs)


def interview_fields(command: Callable) -> Callable:
    """The options of `add` and `edit`."""
    options = [
        single("--company", help="The employer."),
        single("--role", help="The position you interviewed for."),
        single("--at", help="When: ISO 8601, e.g. 2026-11-24T14:30 (local time)."),
        single("--interviewer", help="Who interviewed you."),
        single("--email", help="Their email address, for the draft."),
        click.option("--topics", multiple=True, metavar="T",
                     help="What you discussed, as it should read in a letter; several "
                          "separated by ';' (the draft names them).", ),
        single("--notes", help="Private notes; never in a draft."),
        single("--reply-by", help="The date they said they would reply by."),
        click.option("--domain", "domains", multiple=True, metavar="D",
                     help="Another sender domain of the employer (repeatable; \"\" clears)."),
        click.option("--language", metavar="L",
                     help="The drafts' language: en, de, fr or es (default: [me] language; "
                          "\"\" clears)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def interview_input(fields: dict[str, Any]):
    """The typed fields of `add`/`edit`; a repeatable option not given is None."""
    from followup.app import InterviewInput

    for name in ("topics", "domains"):
        fields[name] = tuple(fields[name]) if fields.get(name) else None
    return InterviewInput(**fields)


def note_twice(ctx: Context, text: str | None) -> None:
    """Say which of the two was taken when a typed time happens twice (DST ends)."""
    from followup import inputs

    note = inputs.twice_note(text, ctx.settings.zone) if text else None
    if note:
        click.echo(f"note: {note}", err=True)


def print_view(ctx: Context, view: View, as_json: bool, detail: bool = False) -> None:
    from followup import present

    zone = ctx.settings.zone
    if as_json:
        emit(present.interview_json(view, zone, detail=detail))
    else:
        click.echo(present.interview_detail(view, zone, ctx.app.now()))
