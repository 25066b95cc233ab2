"""The calendar use cases' work: import a calendar, poll files, feeds and CalDAV, export
the plan (`app.calendar` is the family the commands call; this is what it and the
daemon's calendar watch run).

Plan, then act: `calendar_io` reads a calendar, `sources.events.plan` says what
to do, and this module writes the steps through the store, as the command
line's use cases do. What it remembers between runs lives in the database's
meta table, keyed by a digest of the calendar's address (never the address
itself: a feed's address may be a secret):

- `calendar:seen:<digest>`: the interview events imported from that calendar,
  so that one deleted from it is noticed;
- `calendar:feed:<digest>`: the feed's ETag and Last-Modified;
- `calendar:caldav:<digest>`: the collection's sync token and its objects' UIDs;
- `calendar:export`: each exported event's digest, SEQUENCE and LAST-MODIFIED;
- `calendar:export-caldav:<digest>`: what was written into the export collection.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from followup.app.interviews import Interviews
from followup.config.schema import Invalid, web_url
from followup.files import write_atomically
from followup.models import Interview, Status
from followup.sources.calendar import events
from followup.sources.calendar import export as calendar_export
from followup.sources.calendar import io as calendar_io
from followup.sources.calendar import net as calendar_net
from followup.sources.calendar.events import EventKey, Step
from followup.sources.calendar.io import CalendarError, Reader, Reading

if TYPE_CHECKING:
    from followup.config import Settings


def digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "webcal://"))


class CalendarSync:
    """The calendar use cases, on the interviews' use cases (`app`) and the settings
    in force (the daemon's, after a reload)."""

    def __init__(self, app: Interviews, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings = settings or app.settings  # the daemon's, after a reload
        self.reader = Reader(settings.calendar.match, settings.me.addresses, settings.zone,
                             settings.hours.start, settings.calendar.exclude)

    # --- importing -------------------------------------------------------------------------

    def import_source(self, source: str, dry_run: bool = False) -> list[Step]:
        """`followup import FILE_OR_URL`. Raises CalendarError (nothing changed)."""
        if is_url(source):
            try:
                url = web_url(source)
            except Invalid as error:
                if "login in the URL" in str(error):
                    login = CalendarError(str(error))
                    login.exit_code = 78  # as in the configuration file
                    raise login from None
                raise CalendarError(str(error)) from None
            fetched = calendar_net.fetch(url, self.login())
            return self.import_data(url, fetched.data or b"", calendar_net.shown_url(url),
                                    dry_run)
        path = Path(source).expanduser()
        try:
            if path.stat().st_size > calendar_io.MAX_BYTES:
                raise CalendarError(f"{source} is larger than "
                                    f"{calendar_io.MAX_BYTES // 2**20} MB")
            data = path.read_bytes()
        except OSError as error:
            raise CalendarError(f"cannot read {source}: {error.strerror or error}") from None
        return self.import_data(str(path.resolve()), data, source, dry_run)

    def import_data(self, origin: str, data: bytes, label: str,
                    dry_run: bool = False) -> list[Step]:
        """Import one whole calendar document read from `origin`."""
        calendar = calendar_io.parse(data, label)
        previous = self._seen(origin)
        reading = calendar_io.read(calendar, self.reader, self.app.now(), previous)
        return self.apply(origin, reading, previous, dry_run)

    def apply(self, origin: str, reading: Reading, previous: list[EventKey],
              dry_run: bool = False) -> list[Step]:
        """Plan the reading against the database, and carry the plan out."""
        from followup.store.removed import removed_keys

        store, now = self.app.store, self.app.now()
        steps = events.plan(reading.seen, reading.gone, store.records(), now,
                            removed_keys(store))
        if dry_run:
            return steps
        from followup.store.imports import write_import

        kept = (set(previous) - set(reading.gone)) | set(reading.keys)
        added = [step for step in steps if step.kind == "added"]
        updated = [(step.interview_id, step.changes) for step in steps
                   if step.kind in ("updated", "closed") and step.interview_id is not None]
        new_ids = iter(write_import(
            store, [Interview(id=0, **{**step.changes, "zone": self.settings.timezone})
                    for step in added], updated,
            (f"calendar:seen:{digest(origin)}", calendar_io.keys_json(kept)), now))
        return [replace(step, interview_id=next(new_ids)) if step.kind == "added" else step
                for step in steps]

    def _seen(self, origin: str) -> list[EventKey]:
        return calendar_io.keys_from_json(self.app.store.meta(f"calendar:seen:{digest(origin)}"))

    def login(self) -> tuple[str, str] | None:
        """The [calendar] username and its keyring password, when a username is set."""
        from followup import passwords

        username = self.settings.calendar.username
        if not username:
            return None
        return username, passwords.get_password(username, "calendar") or ""

    # --- polling (the daemon's source) -----------------------------------------------------

    def poll_feed(self, url: str) -> list[Step]:
        """One conditional GET of a feed; [] when it did not change."""
        key = f"calendar:feed:{digest(url)}"
        saved = json.loads(self.app.store.meta(key) or "{}")
        validators = calendar_net.Validators(saved.get("etag", ""), saved.get("modified", ""))
        fetched = calendar_net.fetch(url, self.login(), validators)
        if fetched.data is None:
            return []
        steps = self.import_data(url, fetched.data, calendar_net.shown_url(url))
        got = fetched.validators
        self.app.store.set_meta(key, json.dumps({"etag": got.etag,
                                                 "modified": got.last_modified}))
        return steps

    def poll_caldav(self, url: str) -> list[Step]:
        """Read what changed in the CalDAV collection since its sync token."""
        key = f"calendar:caldav:{digest(url)}"
        saved = json.loads(self.app.store.meta(key) or "{}")
        login = self.login()
        with calendar_net.CalDAV(url, *(login or ("", None))) as dav:
            changes = dav.changes(saved.get("token"))
        objects: dict[str, list[str]] = {} if changes.complete else saved.get("objects", {})
        previous = self._seen(url)
        now = self.app.now()
        seen, gone, keys = [], [], []
        if changes.complete:
            gone_uids = {k.uid for k in previous}
        else:
            gone_uids = {uid for href in changes.deleted for uid in objects.pop(href, [])}
        for href, data in changes.objects:
            try:
                calendar = calendar_io.parse(data, "a CalDAV event")
            except CalendarError as error:
                seen.append(events.Seen(EventKey(href), href, problem=error.message))
                continue
            uids = sorted({str(c.get("UID", "")) for c in calendar.walk("VEVENT")})
            objects[href] = uids
            before = [k for k in previous if k.uid in uids]
            reading = calendar_io.read(calendar, self.reader, now, before)
            seen += reading.seen
            gone += reading.gone
            keys += reading.keys
        present = {uid for uids in objects.values() for uid in uids}
        gone += [k for k in previous if k.uid in gone_uids - present]
        steps = self.apply(url, Reading(seen, gone, keys), previous)
        self.app.store.set_meta(key, json.dumps({"token": changes.token, "objects": objects}))
        return steps

    # --- exporting ---------------------------------------------------------------------------

    def export_events(self) -> list[calendar_export.Planned]:
        """The planned nudges, exactly as `followup due` computes them (no horizon)."""
        coming, _stale = self.app.due(3650)
        store = self.app.store
        installation = store.installation_id()
        limit = self.app.policy.max_followups
        language = self.app.settings.me.language
        return [calendar_export.planned(v.interview, v.due_next.number, limit,
                                        v.due_next.fire_at, installation,
                                        self.app.next_draft(v.record), language,
                                        v.record.followups_sent + 1)
                for v in coming if v.interview.status is Status.WAITING]

    def export_bytes(self) -> bytes:
        """`followup export`: the plan as one iCalendar document (stamps kept)."""
        planned = self.export_events()
        stamps = self._stamps(planned)
        return calendar_export.render(planned, stamps)

    def _stamps(self, planned: list[calendar_export.Planned]) -> dict:
        store = self.app.store
        old_text = store.meta("calendar:export")
        old = calendar_export.stamps_from_json(old_text)
        stamps = calendar_export.restamp(planned, old, self.app.now())
        new_text = calendar_export.stamps_json(stamps)
        if new_text != old_text:
            store.set_meta("calendar:export", new_text)
        return stamps

    def export_file(self, path: Path) -> bool:
        """Keep `path` current; returns whether it was rewritten."""
        return write_atomically(path, self.export_bytes())

    def export_caldav(self, url: str) -> int:
        """Bring the export collection in step with the plan; returns how many events
        were written or deleted."""
        key = f"calendar:export-caldav:{digest(url)}"
        written: dict[str, str] = json.loads(self.app.store.meta(key) or "{}")
        planned = self.export_events()
        stamps = self._stamps(planned)
        to_put = [event for event in planned if written.get(event.uid) != event.digest]
        to_delete = sorted(set(written) - {event.uid for event in planned})
        if not to_put and not to_delete:
            return 0  # no connection at all while the plan stands still
        login = self.login()
        try:
            with calendar_net.CalDAV(url, *(login or ("", None))) as dav:
                if not written:
                    dav.ensure()
                for event in to_put:
                    dav.put(event.uid, calendar_export.render([event], stamps))
                    written[event.uid] = event.digest
                for uid in to_delete:
                    dav.delete(uid)
                    del written[uid]
        finally:
            self.app.store.set_meta(key, json.dumps(written, sort_keys=True))
        return len(to_put) + len(to_delete)
