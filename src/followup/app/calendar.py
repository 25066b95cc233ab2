"""The calendar family of use cases: `followup import` and `followup export`. The work
(reading calendars, applying events, writing the plan out) is in `calendar_sync`,
imported on first use: the calendar libraries are slow to import and most commands
never touch a calendar."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from followup.app.interviews import Interviews

if TYPE_CHECKING:
    from followup.app.calendar_sync import CalendarSync
    from followup.sources.calendar.events import Step


class Calendar(Interviews):
    @cached_property
    def calendar(self) -> CalendarSync:
        """The calendar use cases, built on first use."""
        from followup.app.calendar_sync import CalendarSync

        return CalendarSync(self)

    def import_calendar(self, source: str, dry_run: bool = False) -> list[Step]:
        """`followup import FILE_OR_URL`: the steps taken (or, dry, that would be)."""
        from followup.sources.calendar.events import changed_any

        steps = self.calendar.import_source(source, dry_run)
        if not dry_run and changed_any(steps):
            self._changed(None)  # the daemon's own watch tells it through its source
        return steps

    def export_calendar(self) -> bytes:
        """`followup export`: the planned nudges as an iCalendar document."""
        return self.calendar.export_bytes()
