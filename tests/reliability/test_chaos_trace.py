"""The chaos run's tracer (chaos_trace): a repeat passes only when a kill explains each
extra copy, so that the chaos run can fail. Literal cases, no daemon."""

from __future__ import annotations

import pytest
from chaos_trace import Arrival, Kill, trace

pytestmark = pytest.mark.reliability

IDS = [101, 102, 103]  # company number -> interview id
DELIVERED_102_EMAIL = "INFO delivered nudge 1 for interview 102 (Chaos 1) by email\n"
IN_DOUBT_102_EMAIL = ("WARNING nudge 1 for interview 102 by email is in doubt: the daemon "
                      "stopped while the channel was sending: it may have arrived\n")


def copy(daemon: int | None, at: float, *companies: int, channel: str = "email") -> Arrival:
    return Arrival(channel, frozenset(companies or {1}), daemon, at)


@pytest.mark.parametrize(("arrivals", "logs", "kills", "explained", "unexplained"), [
    # Daemon 0 sent, was killed before its record, daemon 1 sent again: explained.
    ([copy(0, 1.0), copy(1, 3.0)], {}, [Kill(0, 2.0)], 1, 0),
    # The same, but daemon 0 had recorded it delivered: no kill explains the repeat.
    ([copy(0, 1.0), copy(1, 3.0)], {0: DELIVERED_102_EMAIL}, [Kill(0, 2.0)], 0, 1),
    # Sent again before daemon 0 was killed (a race or a timeout, not the kill).
    ([copy(0, 1.0), copy(1, 1.5)], {}, [Kill(0, 2.0)], 0, 1),
    # Nobody was killed: a retry after a send that arrived.
    ([copy(0, 1.0), copy(0, 3.0)], {}, [], 0, 1),
    # The sender of the first copy is unknown.
    ([copy(None, 1.0), copy(1, 3.0)], {}, [Kill(0, 2.0)], 0, 1),
    # Three copies, one kill: one copy stays unexplained.
    ([copy(0, 1.0), copy(1, 3.0), copy(2, 4.0)], {}, [Kill(0, 2.0)], 1, 1),
    # Three copies, two kills of the two first senders: explained.
    ([copy(0, 1.0), copy(1, 3.0), copy(2, 5.0)], {}, [Kill(0, 2.0), Kill(1, 4.0)],
     2, 0),
    # Recorded in doubt at a stop: final, so a second copy is a blind retry.
    ([copy(0, 1.0), copy(1, 3.0)], {0: IN_DOUBT_102_EMAIL}, [], 0, 1),
    # The command's recorder may write after its daemon's death; the resend came later.
    ([copy(0, 2.1, channel="command"), copy(1, 2.05, channel="command")], {}, [Kill(0, 2.0)],
     1, 0),
])
def test_a_repeat_is_explained_only_by_a_kill_between_its_send_and_its_record(
        arrivals, logs, kills, explained, unexplained):
    [repeat] = trace(arrivals, IDS, logs, kills, started=0.0)
    assert (len(repeat.explained_by), len(repeat.unexplained) > 0) == (explained,
                                                                        unexplained > 0)


def test_one_kill_explains_each_nudge_of_the_email_digest_it_interrupted():
    arrivals = [copy(0, 1.0, 0, 1, 2), copy(1, 3.0, 0, 1, 2)]
    repeats = trace(arrivals, IDS, {}, [Kill(0, 2.0)], started=0.0)
    assert [(r.company, len(r.explained_by), r.unexplained) for r in repeats] == [
        (0, 1, []), (1, 1, []), (2, 1, [])]
    assert "an email of 3 nudges" in repeats[0].explained_by[0][1]
