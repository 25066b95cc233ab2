"""The calendar source: interviews from calendars in, planned nudges out.

- `events`: pure decisions: is this event an interview, what changed (no I/O).
- `io`: reading iCalendar documents into events, bounded.
- `net`: feeds (ETag / Last-Modified) and CalDAV (sync tokens).
- `export`: the planned nudges as iCalendar events.
- `watch`: the daemon's watch over files, feeds and CalDAV.

May import: sources.base, content, models, inputs, errors, clock. Never `app` or
`store`: what a read finds is applied by the use cases the daemon hands in.
"""
