"""The one capped-backoff rule (followup.backoff)."""

import pytest

from followup.backoff import backoff_delay


@pytest.mark.parametrize(("base", "failures", "cap", "delay"), [
    (60, 1, 21600, 60),  # the first failure waits the base
    (60, 2, 21600, 120),
    (60, 3, 21600, 240),
    (60, 8, 21600, 7680),
    (60, 9, 21600, 15360),
    (60, 10, 21600, 21600),  # 30720 would pass the cap
    (60, 11, 21600, 21600),
    (60, 1000, 21600, 21600),  # a long run of failures stays at the cap
    (60, 0, 21600, 60),  # no failure yet counts as one
    (60, -3, 21600, 60),
    (300, 1, 60, 60),  # a cap under the base wins
    (1, 5, 3600, 16),
    (0.5, 3, 3600, 2.0),
    (1.5, 10_000, 3600.0, 3600.0),  # no float overflow
])
def test_backoff_delay_doubles_from_the_base_up_to_the_cap(base, failures, cap, delay):
    assert backoff_delay(base, failures, cap) == delay


def test_backoff_delay_stays_an_int_for_int_arguments():
    assert type(backoff_delay(60, 3, 21600)) is int
    assert type(backoff_delay(60, 30, 21600)) is int
