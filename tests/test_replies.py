"""The mailbox decisions, on literal headers as real mail systems write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from followup.sources.mailbox.replies import (
    Candidate,
    Folder,
    Kind,
    Unreadable,
    company_words,
    decide,
    employer_address,
    is_automatic,
    is_public_provider,
    names,
    parse,
    words,
)

NOW = datetime(2030, 3, 20, 12, 0, tzinfo=UTC)
INTERVIEW = datetime(2030, 3, 4, 14, 30, tzinfo=UTC)
ME = ("jo@example.org",)

ACME = Candidate(1, "Acme Inc.", "Backend Engineer", INTERVIEW, email="dana@acme.example")
META = Candidate(2, "Meta", "Data Scientist", INTERVIEW, email="sam@gmail.com")
ACME_2 = Candidate(3, "ACME", "Site Reliability Engineer", INTERVIEW,
                   email="lee@acme.example")
BETA = Candidate(4, "Beta GmbH", "Platform Engineer", INTERVIEW, email="kim@beta.example",
                 domains=("beta-careers.example",))


def headers(text: str) -> bytes:
    return text.strip().replace("\n", "\r\n").encode() + b"\r\n"


def inbox(text: str):
    return parse(headers(text), Folder.INBOX, NOW)


def sent(text: str):
    return parse(headers(text), Folder.SENT, NOW)


def one(message, waiting=(ACME,), known=None):
    found = decide([message], waiting, ME, known or {})
    assert len(found) <= 1
    return found[0] if found else None


# --- what real mail looks like ---------------------------------------------------------------

GMAIL_VACATION = """
From: Dana Smith <dana@acme.example>
To: jo@example.org
Subject: Re: Thank you for the interview
Date: Mon, 11 Mar 2030 09:12:00 +0100
Message-ID: <CAvacation1@mail.gmail.com>
Auto-Submitted: auto-replied
Precedence: bulk
X-Autoreply: yes
"""

EXCHANGE_OOF = """
From: Dana Smith <dana@acme.example>
To: Jo Doe <jo@example.org>
Subject: Thank you for the interview
Date: Mon, 11 Mar 2030 09:12:00 +0000
Message-ID: <oof1@acme.example>
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: dana@acme.example
Return-Path: <>
"""

OUTLOOK_ORDINARY = """
From: Dana Smith <dana@acme.example>
To: Jo Doe <jo@example.org>
Subject: RE: Thank you for the interview
Date: Tue, 12 Mar 2030 16:40:00 +0000
Message-ID: <AM0PR01@acme.example>
X-Auto-Response-Suppress: All
Content-Type: multipart/alternative; boundary="b1"
"""

GREENHOUSE = """
From: Acme Hiring Team <no-reply@us.greenhouse-mail.io>
To: jo@example.org
Subject: Your application to Acme
Date: Wed, 13 Mar 2030 10:00:00 +0000
Message-ID: <gh1@greenhouse-mail.io>
Auto-Submitted: auto-generated
Precedence: bulk
"""

LEVER = """
From: "Beta GmbH" <no-reply@hire.lever.co>
To: jo@example.org
Subject: Update on your application
Date: Wed, 13 Mar 2030 10:00:00 +0000
Message-ID: <lever1@hire.lever.co>
"""

WORKDAY = """
From: Metamorphic Careers <metamorphic@myworkday.com>
To: jo@example.org
Subject: Thank you for applying to Metamorphic
Date: Wed, 13 Mar 2030 10:00:00 +0000
Message-ID: <wd1@myworkday.com>
"""

BOUNCE = """
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: jo@example.org
Subject: Delivery Status Notification (Failure)
Date: Fri, 08 Mar 2030 09:00:05 +0000
Message-ID: <bounce1@mx.google.com>
In-Reply-To: <followup1@example.org>
References: <followup1@example.org>
Content-Type: multipart/report; report-type=delivery-status; boundary="x"
Return-Path: <>
"""

FOLLOWUP = """
From: Jo Doe <jo@example.org>
To: Dana Smith <dana@acme.example>
Subject: Thank you for the interview
Date: Fri, 08 Mar 2030 09:00:00 +0000
Message-ID: <followup1@example.org>
"""


@pytest.mark.parametrize(("text", "kind"), [
    (GMAIL_VACATION, Kind.AUTO_REPLY),
    (EXCHANGE_OOF, Kind.AUTO_REPLY),
    (OUTLOOK_ORDINARY, Kind.REPLY),  # X-Auto-Response-Suppress alone is ordinary mail
    (GREENHOUSE, Kind.REPLY),  # machine-sent by a tracking system naming the company: counts
])
def test_real_mail_from_the_employer(text, kind):
    assert one(inbox(text)).kind is kind


def test_a_tracking_system_naming_the_company_in_its_display_name():
    found = one(inbox(LEVER), waiting=(ACME, BETA))
    assert (found.kind, found.interview_ids) == (Kind.REPLY, (4,))


def test_a_company_name_is_never_matched_inside_another_word():
    assert one(inbox(WORKDAY), waiting=(ACME, META)) is None


def test_a_bounce_of_a_follow_up_is_not_a_reply():
    known = {"<followup1@example.org>": (1, "dana@acme.example")}
    found = one(inbox(BOUNCE), known=known)
    assert (found.kind, found.interview_ids, found.counterpart) == (
        Kind.BOUNCE, (1,), "dana@acme.example")


def test_a_bounce_from_the_employers_own_server_is_not_a_reply():
    text = BOUNCE.replace("mailer-daemon@googlemail.com", "MAILER-DAEMON@mx.acme.example")
    text = text.replace("<followup1@example.org>", "<other@example.org>")
    assert one(inbox(text)).kind is Kind.BOUNCE


def test_a_follow_up_in_sent_then_the_reply_naming_it():
    reply = inbox("""
From: Recruiting <recruiting@other.example>
To: jo@example.org
Subject: Re: Thank you for the interview
Date: Mon, 11 Mar 2030 09:00:00 +0000
Message-ID: <r1@other.example>
In-Reply-To: <followup1@example.org>
""")
    found = decide([reply, sent(FOLLOWUP)], [ACME], ME, {})
    assert [(f.kind, f.interview_ids) for f in found] == [
        (Kind.FOLLOWUP_SENT, (1,)), (Kind.REPLY, (1,))]
    assert found[0].counterpart == "dana@acme.example"


# --- the decisions, one at a time -----------------------------------------------------------------

def mail(sender="dana@acme.example", subject="Next steps", date="Mon, 11 Mar 2030 09:00:00 +0000",
         extra=""):
    return inbox(f"From: {sender}\nTo: jo@example.org\nSubject: {subject}\nDate: {date}\n"
                 f"Message-ID: <m-{abs(hash((sender, subject, date, extra)))}@x>\n{extra}")


@pytest.mark.parametrize(("sender", "waiting", "expected"), [
    ("dana@acme.example", (ACME,), (Kind.REPLY, (1,))),  # the interviewer
    ("Pat <pat@acme.example>", (ACME,), (Kind.REPLY, (1,))),  # a colleague at the domain
    ("pat@eu.acme.example", (ACME,), (Kind.REPLY, (1,))),  # a subdomain
    ("pat@notacme.example", (ACME,), None),  # another domain ending alike
    ("sam@gmail.com", (META,), (Kind.REPLY, (2,))),  # the exact free-mail address
    ("alex@gmail.com", (META,), None),  # free mail: never the whole domain
    ("kim@beta-careers.example", (BETA,), (Kind.REPLY, (4,))),  # a --domain
    ("jo@example.org", (ACME,), None),  # mail from me is never a reply
    ("JO@EXAMPLE.ORG", (ACME,), None),
    ("news@unrelated.example", (ACME,), None),
])
def test_who_counts_as_the_employer(sender, waiting, expected):
    found = one(mail(sender=sender), waiting=waiting)
    assert (None if found is None else (found.kind, found.interview_ids)) == expected


def test_mail_dated_before_the_interview_never_counts():
    assert one(mail(date="Mon, 04 Mar 2030 14:00:00 +0000")) is None
    assert one(mail(date="Mon, 04 Mar 2030 14:31:00 +0000")).kind is Kind.REPLY


@pytest.mark.parametrize(("subject", "expected"), [
    ("Next steps", (Kind.AMBIGUOUS, (1, 3))),
    ("Your Backend Engineer interview", (Kind.REPLY, (1,))),
    ("Site reliability engineer: next round", (Kind.REPLY, (3,))),
    ("Backend Engineer and Site Reliability Engineer", (Kind.AMBIGUOUS, (1, 3))),
])
def test_several_interviews_at_one_employer_need_the_role_named(subject, expected):
    found = one(mail(subject=subject), waiting=(ACME, ACME_2))
    assert (found.kind, found.interview_ids) == expected


@pytest.mark.parametrize("extra", [
    "Auto-Submitted: auto-replied",
    "Auto-Submitted: auto-replied (vacation)",
    "Auto-Submitted: vacation",
    "X-Autoreply: yes",
    "X-Autorespond: on",
    "X-Autoresponder: true",
    "Precedence: auto_reply",
    "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: dana@acme.example",
])
def test_automatic_reply_headers(extra):
    assert one(mail(extra=extra)).kind is Kind.AUTO_REPLY


@pytest.mark.parametrize("extra", [
    "Auto-Submitted: auto-generated",
    "Auto-Submitted: no",
    "Precedence: bulk",
    "Precedence: list",
    "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",
])
def test_machine_sent_mail_that_is_still_an_answer(extra):
    assert one(mail(extra=extra)).kind is Kind.REPLY


@pytest.mark.parametrize(("subject", "automatic"), [
    ("Out of Office: Thank you", True),
    ("Automatic reply: Thank you for the interview", True),
    ("Abwesenheitsnotiz: Vielen Dank", True),
    ("Automatische Antwort: Danke", True),
    ("Réponse automatique : Merci", True),
    ("Respuesta automática: Gracias", True),
    ("Risposta automatica: Grazie", True),
    ("Automatisch antwoord: Bedankt", True),
    ("Autosvar: Tack", True),
    ("OOO - back on Monday", True),
    ("Outcome of your interview", False),
    ("Re: Out of office days and the on-call rotation", False),
    ("Oooh, great news", False),
])
def test_automatic_reply_subjects(subject, automatic):
    assert is_automatic(mail(subject=subject)) is automatic


@pytest.mark.parametrize(("company", "text", "named"), [
    ("Acme Inc.", "ACME", True),
    ("ACME", "Your application at Acme Inc.", True),
    ("Acme Widgets GmbH", "acme widgets: next steps", True),
    ("Meta", "Metamorphic", False),
    ("Meta", "Thank you for applying to Meta!", True),
    ("Société Générale", "Societe Generale recruiting", True),
    ("AT&T", "Your AT&T application", True),
    ("Acme", "", False),
])
def test_company_names_are_compared_whole_and_normalised(company, text, named):
    assert names(company_words(company), text) is named


def test_words():
    assert words("Über-Acme, Inc. (Berlin)") == ("uber", "acme", "inc", "berlin")


@pytest.mark.parametrize(("domain", "public"), [
    ("gmail.com", True), ("yahoo.co.uk", True), ("yahoo.fr", True), ("gmx.de", True),
    ("outlook.com", True), ("acme.example", False), ("outlook.acme.example", False),
    ("live.nation.example", False),
])
def test_public_providers(domain, public):
    assert is_public_provider(domain) is public


def test_a_free_mail_interviewer_matches_only_by_exact_address():
    assert employer_address(META, "sam@gmail.com")
    assert not employer_address(META, "someone@gmail.com")


# --- the Sent folder --------------------------------------------------------------------------

def test_a_sent_follow_up_is_counted_once_by_message_id():
    twice = [sent(FOLLOWUP), sent(FOLLOWUP)]
    found = decide(twice, [ACME], ME, {})
    assert [(f.kind, f.interview_ids, f.linked) for f in found] == [
        (Kind.FOLLOWUP_SENT, (1,), False)]
    assert decide(twice, [ACME], ME, {}, seen={"<followup1@example.org>"}) == []


def test_a_follow_up_recorded_by_hand_is_linked_not_counted_again():
    by_hand = Candidate(1, "Acme", "Backend Engineer", INTERVIEW, email="dana@acme.example",
                        manual_followups=(datetime(2030, 3, 8, 15, 0, tzinfo=UTC),))
    found = one(sent(FOLLOWUP), waiting=(by_hand,))
    assert (found.kind, found.linked) == (Kind.FOLLOWUP_SENT, True)


def test_sent_mail_to_others_or_before_the_interview_is_not_a_follow_up():
    to_other = sent(FOLLOWUP.replace("dana@acme.example", "friend@gmail.com"))
    early = sent(FOLLOWUP.replace("08 Mar 2030", "01 Mar 2030"))
    assert decide([to_other, early], [ACME], ME, {}) == []


def test_a_cc_to_the_employer_counts():
    text = FOLLOWUP.replace("To: Dana Smith <dana@acme.example>",
                            "To: friend@gmail.com\nCc: Pat <pat@acme.example>")
    assert one(sent(text)).counterpart == "pat@acme.example"


def test_a_reply_stops_matching_later_mail_for_that_interview():
    first, second = mail(), mail(date="Tue, 12 Mar 2030 09:00:00 +0000")
    assert [f.kind for f in decide([second, first], [ACME], ME, {})] == [Kind.REPLY]


# --- malformed headers --------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "why"), [
    (b"From: dana@acme.example\r\nSubject: hi\r\n", "no Date"),
    (b"From: dana@acme.example\r\nDate: yesterday-ish\r\n", "not a date"),
    (b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2041 09:00:00 +0000\r\n", "future"),
    (b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\nSubject: "
     + b"x" * 5000 + b"\r\n", "Subject of"),
    (b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\nSubject: \xe9t\xe9"
     b"\r\n", "8-bit"),
    (b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\nSubject: "
     b"=?x-unknown-charset?q?abc?=\r\n", "cannot decode"),
])
def test_malformed_headers_are_unreadable(raw, why):
    with pytest.raises(Unreadable, match=why):
        parse(raw, Folder.INBOX, NOW)


def test_encoded_and_utf8_headers_are_read():
    message = inbox("""
From: =?utf-8?q?Ren=C3=A9e_M=C3=BCller?= <renee@acme.example>
To: jo@example.org
Subject: =?iso-8859-1?q?R=E9ponse_=E0_votre_candidature?=
Date: Mon, 11 Mar 2030 09:00:00 -0000
Message-ID: <enc1@acme.example>
""")
    assert (message.sender_name, message.subject) == ("Renée Müller", "Réponse à votre candidature")
    assert message.date == datetime(2030, 3, 11, 9, 0, tzinfo=UTC)
    utf8 = parse("From: Zoë <zoe@acme.example>\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\n"
                 "Subject: Grüße\r\n".encode(), Folder.INBOX, NOW)
    assert (utf8.sender_name, utf8.subject) == ("Zoë", "Grüße")


def test_a_message_without_message_id_gets_a_stable_one():
    raw = b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\nSubject: hi\r\n"
    first, again = parse(raw, Folder.INBOX, NOW), parse(raw, Folder.INBOX, NOW)
    assert first.message_id == again.message_id and first.message_id.endswith(".invalid>")
