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


KNOWN = {"<followup1@example.org>": (1, "dana@acme.example")}


@pytest.mark.parametrize(("sender", "subject", "extra"), [
    # Postfix: auto-replied, yet a bounce (auto-replies used to be checked first)
    ("MAILER-DAEMON@mx.other.example (Mail Delivery System)",
     "Undelivered Mail Returned to Sender",
     "Auto-Submitted: auto-replied\nContent-Type: multipart/report; "
     "report-type=delivery-status; boundary=x"),
    ("post_master@vtext.example", "Re:Thank you for the interview", ""),  # a "Re:" subject
    ("Mail.Delivery.System@relay.other.example", "Returned", ""),
    ("<postmaster@other.example>", "Thank you", "Content-Type: multipart/report; boundary=x"),
    ("Mail Delivery Subsystem <MAILER-DAEMON>", "Returned mail: see transcript", ""),
    ("System Administrator <admin@other.example>", "Undeliverable: Thank you",
     "Return-Path: <>"),
])
def test_bounces_in_every_spelling_are_bounces_and_told(sender, subject, extra):
    found = one(mail(sender=sender, subject=subject,
                     extra=f"In-Reply-To: <followup1@example.org>\n{extra}"), known=KNOWN)
    assert (found.kind, found.interview_ids, found.counterpart) == (
        Kind.BOUNCE, (1,), "dana@acme.example")


def test_a_bounce_naming_the_employers_address_that_failed():
    found = one(mail(sender="mailer-daemon@googlemail.com", subject="Delivery Status "
                     "Notification (Failure)", extra="X-Failed-Recipients: dana@acme.example"))
    assert (found.kind, found.interview_ids, found.counterpart) == (
        Kind.BOUNCE, (1,), "dana@acme.example")


def test_a_bounce_naming_nothing_of_ours_is_nothing():
    assert one(mail(sender="mailer-daemon@googlemail.com", subject="Delivery Status "
                    "Notification (Failure)")) is None


def test_an_out_of_office_reply_with_a_null_sender_is_an_auto_reply_not_a_bounce():
    found = one(mail(subject="Automatic reply: Thank you", extra="Return-Path: <>"))
    assert found.kind is Kind.AUTO_REPLY


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
    "Auto-Submitted: no",
    "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",
    "Return-Path: <dana@acme.example>",
])
def test_headers_ordinary_mail_carries_too(extra):
    assert one(mail(extra=extra)).kind is Kind.REPLY


@pytest.mark.parametrize("extra", [
    "Auto-Submitted: auto-generated",
    "Auto-Submitted: auto-notified",
    "Precedence: bulk",
    "Precedence: list",
    "Precedence: junk",
    "List-Id: <news.acme.example>",
    "List-Unsubscribe: <mailto:leave@acme.example>",
    "Feedback-ID: 1:newsletter:acme",
    "Return-Path: <>",
    "X-Boxbe-Confirm: yes",
])
def test_machine_sent_mail_from_the_employer_is_automatic_never_a_reply(extra):
    assert one(mail(subject="Our newsletter", extra=extra)).kind is Kind.AUTOMATIC


@pytest.mark.parametrize(("sender", "subject", "extra"), [
    ("dmarc-noreply@acme.example", "DMARC Forensic report for acme.example", ""),
    ("noreply-dmarc-support@acme.example", "Report domain: example.org Submitter: acme",
     ""),
    ("feedback@acme.example", "Email Feedback Report for IP 192.0.2.1",
     "Content-Type: multipart/report; report-type=feedback-report; boundary=x"),
    ("dana@acme.example", "Read: Thank you for the interview",
     "Content-Type: multipart/report; report-type=disposition-notification; boundary=x"),
    ("dana@acme.example", "Please confirm your message", ""),
])
def test_reports_receipts_and_challenges_are_automatic(sender, subject, extra):
    assert one(mail(sender=sender, subject=subject, extra=extra)).kind is Kind.AUTOMATIC


def test_a_tracking_systems_machine_mail_naming_the_company_is_still_a_reply():
    assert one(inbox(GREENHOUSE)).kind is Kind.REPLY  # Auto-Submitted, Precedence: bulk


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
    ("AUTO: Smith, John is out of the office (returning 05/06/2030)", True),
    ("[Automatyczna odpowiedź] Dziękuję", True),
    ("Dana Smith ist außer Haus", True),
    ("Away until May 5", True),
    ("=?UTF-8?Q?AutoRespons?= :Nyaan?", True),
    ("自動返信: ありがとうございます", True),
    ("Absence: Thank you", True),
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

ARRIVED = datetime(2030, 3, 12, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "why"), [
    (b"From: dana@acme.example\r\nSubject: hi\r\n", "no readable Date"),
    (b"From: dana@acme.example\r\nDate: yesterday-ish\r\n", "not a date"),
    (b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2041 09:00:00 +0000\r\n", "future"),
    (b"From: dana@acme.example\r\nSubject: " + b"x" * 1100 * 1024 + b"\r\n", "too large"),
])
def test_headers_that_still_cannot_be_read_are_unreadable(raw, why):
    with pytest.raises(Unreadable, match=why):
        parse(raw, Folder.INBOX, NOW)  # no arrival time either


@pytest.mark.parametrize(("date", "expected"), [
    (None, ARRIVED),
    ("yesterday-ish", ARRIVED),
    ("Mon, 11 Mar 3000 09:00:00 +0000", ARRIVED),  # the year 3000
    ("Mon, 11 Mar 2030 09:00:00 +0100", datetime(2030, 3, 11, 8, 0, tzinfo=UTC)),
])
def test_a_missing_or_future_date_takes_the_arrival_time(date, expected):
    raw = b"From: dana@acme.example\r\nSubject: Next steps\r\n" + (
        f"Date: {date}\r\n".encode() if date else b"")
    message = parse(raw, Folder.INBOX, NOW, ARRIVED)
    assert message.date == expected
    assert one(message).kind is Kind.REPLY


@pytest.mark.parametrize(("subject", "expected"), [
    (b"=?ISO-8859-1?Q?testing=00?=", "testing"),  # a NUL in an encoded word
    (b"=?utf-8?q?line=0Abreak=07bell?=", "line break bell"),
    (b"tab\there", "tab here"),
    (b"\xe9t\xe9 ancien", "\u00e9t\u00e9 ancien"),  # 8-bit Latin-1 of old mailers
    (b"=?x-unknown-charset?q?abc?=", "abc"),
    (b"=?windows-1251?B?z/Do4uXy?=", "\u041f\u0440\u0438\u0432\u0435\u0442"),
    (b"=?ks_c_5601-1987?B?vsiz58fPvLy/5A==?=", "\uc548\ub155\ud558\uc138\uc694"),
    (b"x" * 5000, "x" * 1999 + "\u2026"),  # a subject that long is cut, not refused
])
def test_subjects_are_read_in_any_charset_without_control_characters(subject, expected):
    raw = b"From: dana@acme.example\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\nSubject: " \
        + subject + b"\r\n"
    assert parse(raw, Folder.INBOX, NOW).subject == expected


@pytest.mark.parametrize(("value", "name", "address"), [
    ("'Marston, John' via Acme Group <jobs-group@acme.example>", "Marston, John' via Acme Group",
     "jobs-group@acme.example"),
    ("Foo Bar [THIS IS INVALID] <dana@acme.example>", "Foo Bar [THIS IS INVALID]",
     "dana@acme.example"),
    ("=?UTF-8?B?Rm9vLCBCYXI=?= <dana@acme.example>", "Foo, Bar", "dana@acme.example"),
    ("=?iso-8859-1?Q?Last=DFlName=2C_FirstName?= <dana@acme.example>",
     "Last\u00dflName, FirstName", "dana@acme.example"),
    ("alice@other.example <dana@acme.example>", "alice@other.example", "dana@acme.example"),
    ('"Smith, Dana" <Dana@Acme.Example>', "Smith, Dana", "dana@acme.example"),
    ("dana@acme.example (Dana Smith)", "Dana Smith", "dana@acme.example"),
    ("MAILER-DAEMON@AOL.com (Mail Delivery System)", "Mail Delivery System",
     "mailer-daemon@aol.com"),
    ("Mail Delivery Subsystem <MAILER-DAEMON>", "Mail Delivery Subsystem", ""),
    ("MAILER-DAEMON", "MAILER-DAEMON", ""),
])
def test_senders_are_read_leniently(value, name, address):
    raw = f"From: {value}\r\nDate: Mon, 11 Mar 2030 09:00:00 +0000\r\n".encode()
    message = parse(raw, Folder.INBOX, NOW)
    assert (message.sender_name, message.sender) == (name, address)


def test_a_person_whose_name_has_a_comma_is_still_the_employer():
    found = one(mail(sender="'Smith, Dana' via Acme <dana@acme.example>"))
    assert found.kind is Kind.REPLY


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
