"""An out-of-office reply's return date (sources.mailbox.returns): a literal table in
English, German, French and Spanish; the text as the server gives it; and which
findings get a date."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest

from followup.sources.mailbox.replies import Finding, Folder, Kind, Message
from followup.sources.mailbox.returns import dated, readable, return_date

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(("text", "expected"), [
    # English
    ("I am out of the office and will be back on 14 December.", date(2026, 12, 14)),
    ("I'm away until Monday, December 14th, 2026 with limited access to email.",
     date(2026, 12, 14)),
    ("Out of office through Dec 18. For urgent matters call Pat.", date(2026, 12, 18)),
    ("I will return on 5 January and reply then.", date(2027, 1, 5)),
    ("Back on 2026-12-21.", date(2026, 12, 21)),
    ("I am on leave from 7 December until 18 December.", date(2026, 12, 18)),
    ("I am out from 7 to 11 December.", date(2026, 12, 11)),
    # German
    ("Ich bin bis einschließlich 12.12.2026 nicht im Büro.", date(2026, 12, 12)),
    ("Vielen Dank. Ab dem 15.12. bin ich wieder erreichbar.", date(2026, 12, 15)),
    ("Ich bin vom 7. bis 18. Dezember im Urlaub.", date(2026, 12, 18)),
    ("Ich bin am 14. Dezember 2026 wieder zurück.", date(2026, 12, 14)),
    ("Abwesend bis 4. Januar.", date(2027, 1, 4)),
    ("Am 14. Dezember bin ich wieder da.", date(2026, 12, 14)),
    # French
    ("Je suis absente et serai de retour le 15 décembre.", date(2026, 12, 15)),
    ("Absent jusqu'au 1er janvier 2027 inclus.", date(2027, 1, 1)),
    ("Je suis en congé du 7 au 18 décembre.", date(2026, 12, 18)),
    ("Absente jusqu\N{RIGHT SINGLE QUOTATION MARK}au 14/12/2026.", date(2026, 12, 14)),
    # Spanish
    ("Estoy fuera de la oficina; regresaré el 14 de diciembre.", date(2026, 12, 14)),
    ("Estaré de vacaciones hasta el 18 de diciembre de 2026.", date(2026, 12, 18)),
    ("Fuera de la oficina del 7 al 11 de diciembre.", date(2026, 12, 11)),
    ("Volveré el lunes 4 de enero.", date(2027, 1, 4)),
    # Nothing moves without a date said to be the return
    ("I am out of the office with limited access to email.", None),
    ("I am back on Monday.", None),
    ("I am away from 7 December.", None),
    ("Thank you for your message of 1 December.", None),
    ("Back on 1 December.", None),  # yesterday: already back
    ("Back on 14 December 2025.", None),  # a year past
    ("Back on 31 February.", None),  # not a date
    ("Ich bin bis 12.12. 9:30 Uhr im Termin.", date(2026, 12, 12)),
    ("", None),
])
def test_return_date_in_the_text(text, expected):
    assert return_date("", text, NOW) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    ("Out of office until 14 December", date(2026, 12, 14)),
    ("Abwesenheitsnotiz: zurück am 14.12.2026", date(2026, 12, 14)),
    ("Réponse automatique : absent jusqu'au 15 décembre", date(2026, 12, 15)),
    ("Respuesta automática: de vuelta el 14 de diciembre", date(2026, 12, 14)),
    ("Automatic reply: Thank you", None),
])
def test_return_date_in_the_subject(subject, expected):
    assert return_date(subject, "", NOW) == expected


def test_the_latest_date_said_wins():
    text = "Back on 10 December; in case of delay, until 14 December at the latest."
    assert return_date("Away until 9 December", text, NOW) == date(2026, 12, 14)


@pytest.mark.parametrize(("head", "body", "expected"), [
    (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit",
     "Zurück am 14. Dezember.".encode(), "Zurück am 14. Dezember."),
    (b"Content-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: quoted-printable",
     b"de retour le 15 d=E9cembre", "de retour le 15 décembre"),
    (b"Content-Type: text/html; charset=utf-8",
     b"<p>Back on <b>14&nbsp;December</b></p>", "Back on  14\xa0December"),
    (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
     base64.b64encode("regresaré el 14 de diciembre".encode() + b" " * 40)[:-3],
     "regresaré el 14 de diciembre"),  # cut short inside a base64 quantum
    (b'Content-Type: multipart/alternative; boundary="b"',
     b"--b\r\nContent-Type: text/plain\r\n\r\nback on 14 December\r\n--b\r\n"
     b"Content-Type: text/html\r\n\r\n<p>back on 14 December</p>\r\n--b--\r\n",
     "back on 14 December"),
])
def test_the_text_as_the_server_gives_it(head, body, expected):
    assert readable(head, body).strip() == expected


def finding(kind: Kind, subject: str = "Automatic reply") -> Finding:
    message = Message(Folder.INBOX, "<m@acme.example>", "dana@acme.example", NOW, subject)
    return Finding(kind, (1,), message, counterpart="dana@acme.example")


def test_only_auto_replies_get_a_date_and_the_text_is_read_only_when_needed():
    read = []

    def text(message):
        read.append(message.message_id)
        return "back on 14 December"

    found = dated([finding(Kind.REPLY), finding(Kind.AUTO_REPLY, "Away until 10 December"),
                   finding(Kind.AUTO_REPLY)], text, NOW)
    assert [f.returns_on for f in found] == [None, date(2026, 12, 10), date(2026, 12, 14)]
    assert read == ["<m@acme.example>"]  # once: the subject already said it for the other


def test_an_auto_reply_not_from_the_employer_is_never_read():
    found = dated([finding(Kind.AUTO_REPLY)], lambda m: pytest.fail("read"), NOW,
                  wanted=lambda f: False)
    assert found[0].returns_on is None
