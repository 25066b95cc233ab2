"""What happened since the interview: a follow-up sent (by command or by the
notification's button), the employer heard from, the interview closed or reopened,
a nudge snoozed."""

from __future__ import annotations

import logging
from datetime import timedelta

from followup import inputs, rules
from followup.app.core import Core
from followup.errors import RecordedMeanwhile, UserError
from followup.models import HeardVia, Status, View

log = logging.getLogger("followup")


class Actions(Core):
    def sent(self, interview_id: int, at: str | None = None, note: str = "",
             force: bool = False, number: int | None = None) -> View:
        """Record the next follow-up; with `number`, only if it is that one (raises
        RecordedMeanwhile when it is recorded already, also by a racing writer)."""
        now = self.now()
        sent_at = inputs.moment(at, self.settings.zone, "sent time") if at else now
        note = inputs.one_line(note, "note")
        record = self.store.get(interview_id)
        expected = record.followups_sent  # the store records it only if this still holds
        if number is not None and expected >= number:
            raise RecordedMeanwhile(interview_id, number)
        limit = self.policy.max_followups
        if record.followups_sent >= limit and not force:
            raise UserError(f"{record.followups_sent} follow-up(s) to "
                            f"{record.interview.company} are recorded already, the most "
                            f"[rules] max_followups allows ({limit}); more would be pushy. "
                            "Record it anyway with --force")
        if sent_at < record.interview.interview_at:
            raise UserError("a follow-up cannot be sent before the interview "
                            f"({self.local(record.interview.interview_at):%Y-%m-%d %H:%M})")
        if sent_at > now + timedelta(minutes=5):
            raise UserError("a follow-up cannot be recorded as sent in the future")
        record = self.store.add_followup(interview_id, sent_at, note, now, expected)
        self._changed(interview_id)
        return self.view(record)

    def unsend(self, interview_id: int) -> View:
        """Take back the last recorded follow-up (recorded by mistake)."""
        record = self.store.remove_last_followup(interview_id, self.now())
        self._changed(interview_id)
        return self.view(record)

    def heard(self, interview_id: int, outcome: str | None = None) -> View:
        changes = {"status": Status.HEARD,
                   "outcome": str(inputs.outcome(outcome)) if outcome else None,
                   "heard_via": HeardVia.MANUAL, "heard_message": None}
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def reopen(self, interview_id: int) -> View:
        """Back to waiting: undoes `heard` (however it was heard) and `close`."""
        record = self.store.get(interview_id)
        if record.interview.status is Status.WAITING:
            raise UserError(f"interview {interview_id} is already waiting: there is nothing "
                            "to reopen")
        changes = {"status": Status.WAITING, "outcome": None, "heard_via": None,
                   "heard_message": None}
        record = self.store.update_interview(interview_id, changes, self.now())
        self._changed(interview_id)
        return self.view(record)

    def close(self, interview_id: int) -> View:
        record = self.store.update_interview(interview_id, {"status": Status.CLOSED},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    def snooze(self, interview_id: int, how_long: str | None) -> View:
        """Not before `how_long` from now (a duration), or not before a date or date-time;
        None or "0" removes the snooze."""
        clear = how_long is None or how_long.strip() == "0"
        end = None if clear else inputs.snooze_end(how_long, self.settings.zone, self.now())
        record = self.store.get(interview_id)
        if clear:
            until = None
        elif record.interview.status is not Status.WAITING:
            raise UserError(f"interview {interview_id} is {record.interview.status}: "
                            "there is nothing to snooze")
        elif not rules.can_snooze(record, self.policy, self.now()):
            raise UserError(f"interview {interview_id} has no nudge left to snooze")
        else:
            until = end
        record = self.store.update_interview(interview_id, {"snoozed_until": until},
                                             self.now())
        self._changed(interview_id)
        return self.view(record)

    def snooze_remark(self, view: View) -> str | None:
        """When a snooze does not end where the nudge comes: why, and when it comes."""
        until, coming = view.interview.snoozed_until, view.due_next
        if until is None or coming is None or coming.fire_at <= until + timedelta(minutes=1):
            return None
        at = f"{self.local(coming.fire_at):%a %d %b %Y %H:%M}"
        if coming.opens_at > until:
            return (f"follow-up {coming.number} is not due before then anyway: the nudge "
                    f"comes {at}")
        return (f"the snooze ends outside working hours "
                f"({self.local(until):%a %d %b %H:%M}): the nudge comes {at}")

    async def on_action(self, action: str, interview_id: int, number: int) -> None:
        """A button pressed on nudge `number`'s desktop notification: `sent` or `snooze`.

        "I sent it" records follow-up `number` only when it is not recorded yet
        (pressed twice, or after `followup sent`, it changes nothing).
        """
        import asyncio  # only the daemon calls this: off the commands' start

        try:
            if action == "sent":
                done = await asyncio.to_thread(self.sent_from_nudge, interview_id, number)
                if not done:
                    log.info("follow-up %d for interview %d was already recorded; the "
                             "\"I sent it\" button changed nothing", number, interview_id)
                    return
            elif action == "snooze":
                await asyncio.to_thread(self.snooze, interview_id, "1d")
            else:
                return
            log.info("recorded %r for interview %d (nudge %d) from a notification", action,
                     interview_id, number)
        except UserError as error:
            log.warning("could not act on %r for interview %d: %s", action, interview_id,
                        error.message)

    def sent_from_nudge(self, interview_id: int, number: int) -> bool:
        """Record follow-up `number` as sent now, unless it is recorded; returns whether
        it recorded it."""
        try:
            self.sent(interview_id, number=number)
        except RecordedMeanwhile:
            return False
        return True

