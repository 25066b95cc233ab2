"""The channel interface.

A channel delivers one `Notice` (a single reminder, or a digest of several)
and says how it went: delivered, a transient failure worth retrying soon, or a
permanent failure with a reason a person can act on. A channel never raises
for a delivery problem; it returns a Result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from followup.models import Notice


class Outcome(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.DELIVERED


DELIVERED = Result(Outcome.DELIVERED)


def transient(reason: str) -> Result:
    return Result(Outcome.TRANSIENT, reason)


def permanent(reason: str) -> Result:
    return Result(Outcome.PERMANENT, reason)


class Channel(ABC):
    """One way of telling the user. Built from the settings only when enabled."""

    name: ClassVar[str]
    # Desktop and email take one digest when many nudges fall due at once;
    # the command channel is a machine interface and gets each nudge.
    takes_digest: ClassVar[bool] = True

    @abstractmethod
    async def deliver(self, notice: Notice) -> Result:
        """Deliver the notice; return how it went. Never raises for delivery problems."""

    async def tell(self, title: str, body: str) -> Result:
        """Show a notice (not a nudge: no buttons, never counted). Only channels that
        show notices implement it; the others say so."""
        return permanent(f"the {self.name} channel does not show notices")

    async def close(self) -> None:  # noqa: B027 - most channels hold nothing open
        """Release what the channel holds (a bus connection, say)."""
