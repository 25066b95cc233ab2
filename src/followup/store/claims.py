"""Claiming a nudge: the daemon's write that says "this nudge fires now", with a
pending delivery per channel, atomic between processes (the unique nudge number,
or a compare-and-set on `fired_at` for a snoozed nudge's second claim)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from followup.models import Record
from followup.store import changes as change_log
from followup.store import daemons
from followup.store.dbtime import lapsed
from followup.store.records import load_records
from followup.store.tables import deliveries, nudges
from followup.store.transactions import Transactions


class Claims(Transactions):
    """Claiming nudges, and their deliveries with them."""

    def claim_nudge(self, interview_id: int, number: int, opens_at: datetime,
                    channels: Iterable[str], now: datetime, owner: str,
                    still_due: Callable[[Record], bool],
                    attempts: Mapping[str, str] | None = None) -> Record | None:
        """Claim nudge `number` of an interview, with a pending delivery per channel.

        In one write transaction: re-read the interview, ask `still_due` whether
        the rules still want this nudge now, and insert it, its deliveries
        owned by `owner` (the claiming process), each under its attempt's token
        from `attempts` (channel -> token). Returns the record as it was
        before the claim, or None when the nudge is no longer due or another
        process claimed it first (the unique constraint decides).
        """
        try:
            with self._write() as conn:
                found = load_records(conn, [interview_id])
                if not found or not still_due(found[0]):
                    return None
                nudge_id = conn.execute(nudges.insert().values(
                    interview_id=interview_id, number=number, opens_at=opens_at,
                    fired_at=now)).inserted_primary_key[0]
                self._insert_deliveries(conn, nudge_id, list(channels), now, owner,
                                        attempts or {})
                change_log.note(conn, interview_id)
                return found[0]
        except IntegrityError:
            return None

    def claim_again(self, interview_id: int, number: int, channels: Iterable[str],
                    now: datetime, owner: str, still_due: Callable[[Record], bool],
                    attempts: Mapping[str, str] | None = None) -> Record | None:
        """Claim nudge `number` once more, after the user snoozed it (see
        `rules.next_nudge`): a new delivery per channel, owned by `owner`.

        As safe as the first claim: in one write transaction, re-read the
        interview, ask `still_due`, and move the nudge's `fired_at` to `now` only
        where it still holds the value read (a compare-and-set, so two daemons
        never both succeed, and moving it ends the snooze's "once"). Refused while
        any delivery of the nudge is being attempted. Returns the record as it was
        before, or None.
        """
        with self._write() as conn:
            found = load_records(conn, [interview_id])
            if not found or not still_due(found[0]):
                return None
            nudge = next((n for n in found[0].nudges if n.number == number), None)
            if nudge is None:
                return None
            row = conn.execute(sa.select(nudges.c.id).where(
                nudges.c.interview_id == interview_id, nudges.c.number == number)).scalar()
            # Being attempted: held by a daemon whose lease has not lapsed (database clock).
            busy = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.nudge_id == row, sa.not_(lapsed(conn.dialect.name)))).scalar()
            if busy:
                return None
            moved = conn.execute(nudges.update().where(
                nudges.c.id == row, nudges.c.fired_at == nudge.fired_at).values(fired_at=now))
            if moved.rowcount != 1:
                return None
            conn.execute(deliveries.delete().where(deliveries.c.nudge_id == row))
            self._insert_deliveries(conn, row, list(channels), now, owner, attempts or {})
            change_log.note(conn, interview_id)
            return found[0]

    def _insert_deliveries(self, conn: Connection, nudge_row: int, mine: list[str],
                           now: datetime, owner: str, tokens: Mapping[str, str]) -> None:
        """A claimed nudge's deliveries: the claimer's channels under its lease and
        their attempts' tokens, and (several daemons) the channels only others have,
        waiting for them unowned."""
        rows = [{"nudge_id": nudge_row, "channel": name, "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "owner": owner,
                 "attempt": tokens.get(name)} for name in mine]
        if rows:
            conn.execute(deliveries.insert().values(lease_until=self._lease(conn)), rows)
        others = sorted(daemons.remembered_channels(conn) - set(mine))
        if others:
            conn.execute(deliveries.insert(), [
                {"nudge_id": nudge_row, "channel": name, "status": "pending",
                 "attempts": 0, "next_attempt_at": now, "owner": None, "attempt": None}
                for name in others])
