"""What kind of mail a message is, in DESIGN's order: bounce, auto_reply, a tracking
system's mail, other automatic mail, a person's. Pure: header fields in, a kind out.
The lists behind these decisions are in `mail_lists`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from followup.sources.mailbox import lists as mail_lists
from followup.sources.mailbox.messages import Message


class Kind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    FOLLOWUP_SENT = "followup_sent"
    AMBIGUOUS = "ambiguous"
    BOUNCE = "bounce"
    AUTOMATIC = "automatic"


def classify(message: Message) -> Kind:
    """What kind of mail this is, in DESIGN's order: BOUNCE, AUTO_REPLY, REPLY for a
    tracking system's mail (an answer when it names the company), AUTOMATIC for other
    machine-sent mail, else REPLY (a person's mail)."""
    if is_bounce(message):
        return Kind.BOUNCE
    if is_auto_reply(message):
        return Kind.AUTO_REPLY
    if is_tracking_system(message.sender):
        return Kind.REPLY
    if is_machine_sent(message):
        return Kind.AUTOMATIC
    return Kind.REPLY


def is_bounce(message: Message) -> bool:
    """A delivery-status notification: a report of delivery status (with or without
    its report-type), a mailer daemon's message, a postmaster's or a null sender's
    with a failure subject. Feedback reports and read receipts are not bounces."""
    content = message.content_type.lower()
    if _is_report(message):
        return False
    if content.startswith(("multipart/report", "message/delivery-status")):
        return True
    local = _plain(message.sender.partition("@")[0])
    name = " ".join(message.sender_name.casefold().replace("_", " ").split())
    subject = message.subject.casefold()
    failure = any(s in subject for s in mail_lists.BOUNCE_SUBJECTS)
    if local in mail_lists.MAILER_DAEMONS or local in mail_lists.POSTMASTERS \
            or _plain(name) in mail_lists.MAILER_DAEMONS:
        return True
    machine = (message.return_path in ("<>", "<MAILER-DAEMON>") or _auto_submitted(message)
               or name in mail_lists.BOUNCE_NAMES or not message.sender)
    if failure and machine:
        return True
    return failure and subject.startswith(tuple(
        s for s in mail_lists.BOUNCE_SUBJECTS if s not in ("bounce", "rejected:", "read:")))


def is_delay(message: Message) -> bool:
    """A bounce that only says delivery is late: the server is still trying."""
    subject = message.subject.casefold()
    return any(s in subject for s in mail_lists.DELAY_SUBJECTS)


def is_auto_reply(message: Message) -> bool:
    """An out-of-office or vacation reply (RFC 3834 and the vendors' own signs).

    Machine-sent mail in general (Auto-Submitted: auto-generated, Precedence:
    bulk) is not: that is `is_machine_sent`.
    X-Auto-Response-Suppress alone is not either: Outlook puts it on ordinary mail.
    """
    submitted = message.auto_submitted.lower()
    return (submitted.startswith("auto-replied") or "vacation" in submitted
            or message.autoreply_header
            or message.precedence.lower() == "auto_reply"
            or (message.response_suppress and message.rules_loop)  # Exchange's OOF
            or auto_reply_subject(message.subject))


is_automatic = is_auto_reply  # the name it had


def auto_reply_subject(subject: str) -> bool:
    text = subject.strip().casefold().lstrip("[(").lstrip()
    for prefix in mail_lists.AUTO_REPLY_SUBJECTS:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            if not rest or not rest[0].isalnum() or prefix.endswith(":"):
                return True
    return any(phrase in text for phrase in mail_lists.AUTO_REPLY_PHRASES)


def is_machine_sent(message: Message) -> bool:
    """Machine-sent mail that is no reply: RFC 3834 auto-generated notices, bulk and
    list mail, feedback and DMARC reports, read receipts, challenge-response robots,
    and mail with a null sender (Return-Path <>: never a person's)."""
    return (_auto_submitted(message) or message.return_path == "<>"
            or message.precedence.lower().strip() in mail_lists.AUTOMATIC_PRECEDENCE
            or message.mailing_list or message.challenge or message.bulk_sender
            or _is_report(message))


def _auto_submitted(message: Message) -> bool:
    value = message.auto_submitted.strip().lower()
    return bool(value) and not value.startswith("no")


def _is_report(message: Message) -> bool:
    """A feedback (ARF) or DMARC report, a read receipt, a challenge: by content type,
    sender or subject."""
    content = message.content_type.lower()
    if content.startswith("multipart/report") and (
            "feedback-report" in content or "disposition-notification" in content):
        return True
    subject = message.subject.casefold()
    local = _plain(message.sender.partition("@")[0])
    return (local in mail_lists.REPORT_SENDERS or "dmarc" in local
            or any(s in subject for s in mail_lists.AUTOMATIC_SUBJECTS)
            or subject.startswith(mail_lists.READ_RECEIPT_SUBJECTS))


def _plain(local: str) -> str:
    return "".join(c for c in local.lower() if c not in "._- +")


def is_tracking_system(address: str) -> bool:
    return within(domain_of(address), mail_lists.TRACKING_SYSTEMS)


def is_public_provider(domain: str) -> bool:
    if domain in mail_lists.PUBLIC_PROVIDERS:
        return True
    name, _, rest = domain.partition(".")
    return (name in mail_lists.PUBLIC_PROVIDER_NAMES and 0 < len(rest) <= 6
            and all(len(label) <= 3 for label in rest.split(".")))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def within(domain: str, domains: Iterable[str]) -> bool:
    """Whether `domain` is one of `domains` or a subdomain of one."""
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)
