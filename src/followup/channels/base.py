"""The channel interface.

A channel delivers one `Notice` (a single reminder, or a digest of several)
and says how it went: delivered; failed for now (the network, a busy server:
worth trying again soon); or failed until the user fixes something (a refused
password, a missing program), with a reason a person can act on. A channel
never raises for a delivery problem; it returns a Result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from followup.models import Notice

# What the daemon passes to act on a notification's buttons: ("sent" or
# "snooze", interview id, the number of the nudge whose button it was). It may
# be a coroutine function; it runs on the daemon's event loop.
ActionHandler = Callable[[str, int, int], Awaitable[None] | None]


class DeliveryResult(StrEnum):
    """How one attempt at delivering went (the employer's reply is `models.ReplyOutcome`)."""

    DELIVERED = "delivered"
    TRY_AGAIN = "try again"  # may pass by itself: the network, a busy server
    NEEDS_FIX = "needs a fix"  # will not pass until the user changes something


@dataclass(frozen=True, slots=True)
class Result:
    outcome: DeliveryResult
    reason: str = ""
    # A channel with several destinations: those this attempt reached (also on failure).
    delivered_to: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return self.outcome is DeliveryResult.DELIVERED


DELIVERED = Result(DeliveryResult.DELIVERED)


def try_again(reason: str) -> Result:
    """A failure that may pass by itself: worth another attempt soon."""
    return Result(DeliveryResult.TRY_AGAIN, reason)


def needs_fix(reason: str) -> Result:
    """A failure that lasts until the user changes something; `reason` says what."""
    return Result(DeliveryResult.NEEDS_FIX, reason)


class Channel(ABC):
    """One way of telling the user. Built from the settings only when enabled."""

    name: ClassVar[str]
    # Desktop and email take one digest when many nudges fall due at once;
    # the command channel is a machine interface and gets each nudge.
    takes_digest: ClassVar[bool] = True
    # Apprise delivers to several destinations: each one's result is recorded, and a
    # retry goes only to those that failed (`Notice.done`, `Result.delivered_to`).
    several_destinations: ClassVar[bool] = False

    @abstractmethod
    async def deliver(self, notice: Notice) -> Result:
        """Deliver the notice; return how it went. Never raises for delivery problems."""

    async def tell(self, title: str, body: str) -> Result:
        """Show a notice (not a nudge: no buttons, never counted). Only channels that
        show notices implement it; the others say so."""
        return needs_fix(f"the {self.name} channel does not show notices")

    async def close(self) -> None:  # noqa: B027 - most channels hold nothing open
        """Release what the channel holds (a bus connection, say)."""
