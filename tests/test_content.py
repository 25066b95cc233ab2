"""What the user reads: drafts that follow the etiquette, reminders, digests,
mailto links and human durations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.content import ago, draft, mailto, notice, reminder, until
from followup.models import Draft, Interview

BERLIN = ZoneInfo("Europe/Berlin")
ACME = Interview(
    id=3, company="Acme", role="Backend Engineer",
    interview_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    interviewer="Jane Smith", email="jane@acme.example",
    topics="their move from Python to Rust",
    notes="Seemed rushed. She asked about Go?",
)
GLOBEX = Interview(id=5, company="Globex", role="Data Analyst",
                   interview_at=datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
HUGE = replace(ACME, company="Initech " * 125, role="r" * 1000, interviewer="Dr " * 333,
               notes="word " * 2000, topics="topic " * 1000)


def words(text: str) -> int:
    return len(text.split())


# --- drafts --------------------------------------------------------------------------


def test_first_draft():
    first = draft(ACME, 1, 2)
    assert first == Draft(
        to="jane@acme.example",
        subject="Thank you \N{EN DASH} Backend Engineer interview",
        body=(
            "Dear Jane Smith,\n\n"
            "Thank you for taking the time to speak with me about the Backend Engineer "
            "position at Acme. I particularly enjoyed our conversation about their move from "
            "Python to Rust.\n\n"
            "I remain very interested in the role and would be glad to contribute to the "
            "team. I look forward to hearing from you.\n\n"
            "Best regards,\n"
        ),
    )


def test_second_draft_is_shorter_and_presses_no_one():
    first, second = draft(ACME, 1, 2), draft(ACME, 2, 2)
    assert second.subject == "Following up: Backend Engineer at Acme"
    assert second.body.startswith("Dear Jane Smith,\n\n")
    assert "Backend Engineer position at Acme" in second.body
    assert "understand that these decisions take time" in second.body
    for ultimatum in ("last note", "will not write again", "unless I hear"):
        assert ultimatum not in second.body
    assert words(second.body) < words(first.body)


@pytest.mark.parametrize("number", [1, 2])
def test_private_notes_never_reach_a_draft(number):
    body = draft(replace(ACME, notes="seemed rushed; salary too low"), number, 2).body
    assert "rushed" not in body and "salary" not in body


@pytest.mark.parametrize(("signature", "ending"), [
    ("Jo Doe", "Best regards,\nJo Doe\n"),
    ("", "Best regards,\n"),
    ("   ", "Best regards,\n"),
])
@pytest.mark.parametrize("number", [1, 2])
def test_drafts_are_signed_with_the_users_name(signature, ending, number):
    assert draft(ACME, number, 2, signature).body.endswith(ending)


@pytest.mark.parametrize(("interviewer", "company", "greeting"), [
    ("Jane Smith", "Acme", "Dear Jane Smith,"),
    ("", "Acme", "Dear Acme team,"),
    ("   ", "Acme", "Dear Acme team,"),
    ("", "", "Hello,"),
    ("Who?", "Acme", "Dear Who,"),
    ("Dr. Jürgen Müller", "Acme", "Dear Dr. Müller,"),
    ("Prof. Dr. Anna van der Berg", "Acme", "Dear Prof. van der Berg,"),
    ("Ms Jane Ann Smith", "Acme", "Dear Ms Smith,"),
    ("Frau Weber", "Acme", "Dear Ms. Weber,"),
    ("Dr.", "Acme", "Hello,"),
])
@pytest.mark.parametrize("number", [1, 2])
def test_greeting(interviewer, company, greeting, number):
    interview = replace(ACME, interviewer=interviewer, company=company)
    assert draft(interview, number, 2).body.splitlines()[0] == greeting


@pytest.mark.parametrize(("topics", "sentence"), [
    ("their move from Python to Rust",
     "I particularly enjoyed our conversation about their move from Python to Rust."),
    ("the Kafka pipeline; on-call",
     "I particularly enjoyed our conversation about the Kafka pipeline and on-call."),
    ("the Kafka pipeline; on-call; code review, mostly",
     "I particularly enjoyed our conversation about the Kafka pipeline, on-call and code "
     "review, mostly."),
    ("how they test releases?", "I particularly enjoyed our conversation about how they "
                                "test releases."),
    (" ; the design system ;", "I particularly enjoyed our conversation about the design "
                               "system."),
])
def test_topics_are_named_naturally(topics, sentence):
    assert sentence in draft(replace(ACME, topics=topics), 1, 2).body.replace("\n", " ")


@pytest.mark.parametrize("topics", ["", "   ", "???", " ; ;"])
def test_without_topics_a_general_sentence(topics):
    body = draft(replace(ACME, topics=topics), 1, 2).body
    assert "conversation" not in body
    assert "I enjoyed learning more about the team and its work." in body


@pytest.mark.parametrize("interview", [ACME, GLOBEX, HUGE,
                                       replace(ACME, role="QA?", notes="Why? Why not?")],
                         ids=["acme", "no interviewer", "huge fields", "question marks"])
@pytest.mark.parametrize("number", [1, 2])
def test_draft_etiquette(interview, number):
    message = draft(interview, number, 2)
    assert words(message.body) < 150
    assert "?" not in message.body + message.subject
    assert "attach" not in message.body.lower()
    assert message.body.endswith("Best regards,\n")


def test_huge_fields_are_clipped():
    message = draft(HUGE, 1, 2)
    assert message.body.startswith("Hello,\n")  # titles and no name
    assert "Initech Initech Initech Initech Initech Initech Initech Initech." in message.body
    assert len(message.subject) < 120


one_line = st.text(max_size=1000)


@settings(max_examples=300, deadline=None)
@given(company=one_line, role=one_line, interviewer=one_line, topics=one_line,
       signature=st.text(max_size=200), language=st.sampled_from(["en", "de", "fr", "es"]))
def test_any_draft_stays_short_and_asks_nothing(company, role, interviewer, topics, signature,
                                                language):
    interview = replace(ACME, company=company, role=role, interviewer=interviewer,
                        topics=topics, language=language)
    first, second = draft(interview, 1, 2, signature), draft(interview, 2, 2, signature)
    for message in (first, second):
        assert words(message.body) < 150
        text = message.body + message.subject
        assert "?" not in text and "\N{INVERTED QUESTION MARK}" not in text
    assert words(second.body) < words(first.body)


# --- mailto ----------------------------------------------------------------------------


def test_mailto_encodes_spaces_and_line_breaks():
    message = Draft(to="jane@acme.example", subject="Hi there", body="One\nTwo, three")
    assert mailto(message) == (
        "mailto:jane@acme.example?subject=Hi%20there&body=One%0D%0ATwo%2C%20three"
    )


def parse_mailto(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    assert parts.scheme == "mailto"
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert set(query) == {"subject", "body"}
    return unquote(parts.path), query["subject"][0], query["body"][0]


@pytest.mark.parametrize("message", [
    draft(ACME, 1, 2),
    draft(GLOBEX, 2, 2),
    Draft(to="jane+jobs@acme.example", subject="R&D = 100% fun + more #1 ?",
          body="Grüße & thanks;\r\nline two\nline=three #4 ?x=y"),
])
def test_mailto_round_trips(message):
    crlf = message.body.replace("\r\n", "\n").replace("\n", "\r\n")
    assert parse_mailto(mailto(message)) == (message.to, message.subject, crlf)


@settings(max_examples=200, deadline=None)
@given(subject=st.text(), body=st.text())
def test_any_mailto_round_trips(subject, body):
    message = Draft(to="jane@acme.example", subject=subject, body=body)
    crlf = body.replace("\r\n", "\n").replace("\n", "\r\n")
    assert parse_mailto(mailto(message)) == ("jane@acme.example", subject, crlf)


# --- reminders and notices -----------------------------------------------------------------

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def test_reminder():
    found = reminder(ACME, 1, 2, NOW, BERLIN)
    assert found.title == "Follow up with Acme"
    assert found.body == ("Your Backend Engineer interview at Acme with Jane Smith was "
                          "4 days ago (Mon 2 Mar 2026, 11:00).\n"
                          "Time for follow-up 1 of 2; a draft is ready.")
    assert (found.interview, found.number, found.of) == (ACME, 1, 2)
    assert found.draft == draft(ACME, 1, 2)


@pytest.mark.parametrize("interviewer", ["", "  ", "?"])
def test_reminder_without_an_interviewer(interviewer):
    found = reminder(replace(GLOBEX, interviewer=interviewer), 2, 2, NOW, BERLIN)
    assert found.body == ("Your Data Analyst interview at Globex was 1 day ago "
                          "(Wed 4 Mar 2026, 16:00).\n"
                          "Time for follow-up 2 of 2; a draft is ready.")
    assert found.draft.subject == "Following up: Data Analyst at Globex"


def test_nudge_2_after_an_ignored_nudge_1_offers_the_first_follow_up():
    # Issue 10, item 8: the user sent nothing, so the draft is follow-up 1's.
    found = reminder(ACME, 2, 2, NOW, BERLIN, sent=0)
    assert found.number == 2  # the nudge (its buttons act on nudge 2)
    assert found.followup == 1  # what the email's subject names
    assert found.body.endswith("Time for follow-up 1 of 2; a draft is ready.")
    assert found.draft == draft(ACME, 1, 2)
    after_one = reminder(ACME, 2, 2, NOW, BERLIN, sent=1)
    assert after_one.draft == draft(ACME, 2, 2)


def test_a_reminder_draft_is_signed():
    found = reminder(ACME, 1, 2, NOW, BERLIN, signature="Jo Doe")
    assert found.draft.body.endswith("Best regards,\nJo Doe\n")


def test_notice_of_one_reminder_is_that_reminder():
    one = reminder(ACME, 1, 2, NOW, BERLIN)
    found = notice([one])
    assert (found.key, found.title, found.body) == ("nudge-3-1", one.title, one.body)
    assert found.reminders == (one,) and not found.is_digest


def test_notice_of_several_is_a_digest():
    reminders = [reminder(ACME, 1, 2, NOW, BERLIN), reminder(GLOBEX, 2, 2, NOW, BERLIN),
                 reminder(replace(ACME, id=9, company="Initech"), 1, 2, NOW, BERLIN)]
    found = notice(reminders)
    assert found.title == "3 follow-ups are due"
    assert found.body == ("Acme — Backend Engineer (follow-up 1 of 2)\n"
                          "Globex — Data Analyst (follow-up 2 of 2)\n"
                          "Initech — Backend Engineer (follow-up 1 of 2)")
    assert found.is_digest and found.reminders == tuple(reminders)


def test_a_digest_lists_interviews_in_the_order_they_became_due():
    first = reminder(GLOBEX, 2, 2, NOW, BERLIN, opens_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    second = reminder(ACME, 1, 2, NOW, BERLIN, opens_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    third = reminder(replace(ACME, id=9, company="Initech"), 1, 2, NOW, BERLIN,
                     opens_at=datetime(2026, 3, 5, 9, tzinfo=UTC))
    found = notice([third, second, first])
    assert [line.split(" — ")[0] for line in found.body.splitlines()] == [
        "Globex", "Acme", "Initech"]
    assert found.reminders == (first, second, third)


def test_digest_key_is_stable_and_names_its_nudges():
    a, b, c = (reminder(ACME, 1, 2, NOW, BERLIN), reminder(GLOBEX, 2, 2, NOW, BERLIN),
               reminder(ACME, 2, 2, NOW, BERLIN))
    key = notice([a, b]).key
    assert key.startswith("digest-") and len(key) == len("digest-") + 16
    assert notice([b, a]).key == key
    assert notice([a, c]).key != key


def test_notice_of_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        notice([])


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "past", "future"), [
    (timedelta(seconds=-5), "just now", "now"),
    (timedelta(0), "just now", "now"),
    (timedelta(seconds=29), "just now", "now"),
    (timedelta(seconds=31), "1 minute ago", "in 1 minute"),
    (timedelta(minutes=1) - timedelta(milliseconds=5), "1 minute ago", "in 1 minute"),
    (timedelta(minutes=1), "1 minute ago", "in 1 minute"),
    (timedelta(minutes=5), "5 minutes ago", "in 5 minutes"),
    (timedelta(minutes=59, seconds=29), "59 minutes ago", "in 59 minutes"),
    (timedelta(minutes=59, seconds=59), "1 hour ago", "in 1 hour"),
    (timedelta(hours=3), "3 hours ago", "in 3 hours"),
    (timedelta(hours=23, minutes=59), "23 hours ago", "in 23 hours"),
    (timedelta(days=1), "1 day ago", "in 1 day"),
    (timedelta(days=2) - timedelta(milliseconds=5), "2 days ago", "in 2 days"),
    (timedelta(days=2), "2 days ago", "in 2 days"),
    (timedelta(days=4, hours=2), "4 days ago", "in 4 days"),
    (timedelta(days=13), "13 days ago", "in 13 days"),
    (timedelta(days=14) - timedelta(milliseconds=5), "2 weeks ago", "in 2 weeks"),
    (timedelta(days=14), "2 weeks ago", "in 2 weeks"),
    (timedelta(days=59), "8 weeks ago", "in 8 weeks"),
    (timedelta(days=60), "2 months ago", "in 2 months"),
    (timedelta(days=800), "2 years ago", "in 2 years"),
])
def test_durations(delta, past, future):
    assert (ago(delta), until(delta)) == (past, future)
