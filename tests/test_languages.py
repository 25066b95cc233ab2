"""Issue 19, item 3: drafts and the nudge texts in English, German, French and
Spanish, in the interview's language (else `[me] language`), each following the
etiquette: thank, name the topics (joined as the language joins a list), restate
interest, ask nothing, attach nothing, the second shorter and pressing no one;
the formal greeting when a title says it, a neutral one otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from followup.content import draft, notice, reminder
from followup.models import Interview
from support.cli import run
from support.daemon import wait_for, world  # noqa: F401 - fixture

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
ACME = Interview(id=3, company="Acme", role="Backend Engineer",
                 interview_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
                 interviewer="Dana Smith", email="dana@acme.example",
                 topics="the Kafka pipeline; on-call; code review",
                 notes="seemed rushed; salary too low")
LANGUAGES = ("en", "de", "fr", "es")
# How each language names an attachment, and what would press the reader.
ATTACHMENT_WORDS = {
    "en": ("attach", "enclose", "cv", "résumé", "resume"),
    "de": ("anhang", "anbei", "beigefügt", "lebenslauf", "anlage"),
    "fr": ("pièce jointe", "ci-joint", "joint", "cv"),
    "es": ("adjunt", "anexo", "currículum", "cv"),
}
ULTIMATUMS = {
    "en": ("last note", "will not write again", "unless i hear", "final"),
    "de": ("letzte nachricht", "nicht mehr melden", "frist", "letztmalig"),
    "fr": ("dernière relance", "dernier message", "sans réponse de votre part", "délai"),
    "es": ("último mensaje", "última vez", "sin respuesta", "plazo"),
}
TOPICS_JOINED = {
    "en": "the Kafka pipeline, on-call and code review",
    "de": "the Kafka pipeline, on-call und code review",
    "fr": "the Kafka pipeline, on-call et code review",
    "es": "the Kafka pipeline, on-call y code review",
}
CLOSINGS = {"en": "Best regards,", "de": "Mit freundlichen Grüßen", "fr": "Bien cordialement,",
            "es": "Un cordial saludo,"}


def words(text: str) -> int:
    return len(text.split())


def in_(language: str, **changes) -> Interview:
    return replace(ACME, language=language, **changes)


# --- the etiquette, in every language --------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("number", [1, 2])
def test_no_question_and_no_attachment(language, number):
    message = draft(in_(language, role="QA?", topics="how they test?"), number, 2)
    text = message.subject + message.body
    assert "?" not in text and "\N{INVERTED QUESTION MARK}" not in text
    assert not [w for w in ATTACHMENT_WORDS[language] if w in text.lower()]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_is_shorter_and_presses_no_one(language):
    first, second = draft(in_(language), 1, 2), draft(in_(language), 2, 2)
    assert words(second.body) < words(first.body)
    assert second.subject != first.subject
    assert not [w for w in ULTIMATUMS[language] if w in second.body.lower()]
    assert "Backend Engineer" in second.body and "Acme" in second.body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_names_the_topics_as_the_language_joins_them(language):
    body = draft(in_(language), 1, 2).body.replace("\n", " ")
    assert f"{TOPICS_JOINED[language]}." in body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("number", [1, 2])
def test_notes_never_reach_a_draft(language, number):
    body = draft(in_(language), number, 2).body
    assert "rushed" not in body and "salary" not in body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("number", [1, 2])
def test_signed_and_short(language, number):
    message = draft(in_(language, topics="topic " * 1000, company="Initech " * 125),
                    number, 2, "Jo Doe")
    assert message.body.endswith(f"\n\n{CLOSINGS[language]}\nJo Doe\n")
    assert words(message.body) < 150 and len(message.subject) < 120


@pytest.mark.parametrize(("language", "subject", "opening"), [
    ("en", "Thank you for the interview",
     "Thank you for taking the time to speak with me about joining Acme."),
    ("de", "Vielen Dank für das Gespräch",
     "vielen Dank, dass Sie sich die Zeit für unser Gespräch bei Acme genommen haben."),
    ("fr", "Merci pour l'entretien",
     "Je vous remercie d'avoir pris le temps d'échanger avec moi lors de notre entretien "
     "chez Acme."),
    ("es", "Gracias por la entrevista",
     "Muchas gracias por dedicarme su tiempo en nuestra entrevista en Acme."),
])
def test_a_draft_without_a_role_names_none(language, subject, opening):
    first = draft(in_(language, role="", topics=""), 1, 2)
    assert first.subject == subject
    assert first.body.split("\n\n")[1].startswith(opening)
    second = draft(in_(language, role=""), 2, 2)
    assert " de  " not in second.body and "  " not in second.body + second.subject


# --- greetings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "interviewer", "greeting"), [
    ("de", "Frau Dr. Anna Müller", "Sehr geehrte Frau Dr. Müller,"),
    ("de", "Herr Klaus Weber", "Sehr geehrter Herr Weber,"),
    ("de", "Ms. Sarah O'Connor, PhD", "Sehr geehrte Frau Dr. O'Connor,"),
    ("de", "Frau Prof. Dr. Zoë Ó Briain-Żółć", "Sehr geehrte Frau Prof. Dr. Ó Briain-Żółć,"),
    ("de", "Sir Patrick Stewart", "Sehr geehrter Sir Patrick,"),
    ("de", "Dana Smith", "Guten Tag Dana Smith,"),
    ("de", "Smith, Dana", "Guten Tag Dana Smith,"),
    ("de", "Dr. Jürgen Müller", "Guten Tag Dr. Jürgen Müller,"),
    ("de", "dana@acme.example", "Guten Tag,"),
    ("de", "Dr.", "Guten Tag,"),
    ("de", "", "Sehr geehrte Damen und Herren,"),
    ("fr", "Mme Claire Dupont", "Madame Dupont,"),
    ("fr", "Madame Dupont", "Madame Dupont,"),
    ("fr", "Monsieur Jean Dupont", "Monsieur Dupont,"),
    ("fr", "Mr. James Bond", "Monsieur Bond,"),
    ("fr", "Dana Smith", "Bonjour Dana Smith,"),
    ("fr", "Anna Lee (HR)", "Bonjour Anna Lee,"),
    ("fr", "dana@acme.example", "Bonjour,"),
    ("fr", "", "Madame, Monsieur,"),
    ("es", "Sra. Ana García", "Estimada Sra. García:"),
    ("es", "Sr. Juan Pérez", "Estimado Sr. Pérez:"),
    ("es", "Dra. Ana Ruiz", "Estimada Dra. Ruiz:"),
    ("es", "Frau Prof. Anna Müller", "Estimada profesora Müller:"),
    ("es", "Dana Smith", "Hola Dana Smith,"),
    ("es", "dana@acme.example", "Hola,"),
    ("es", "", "Estimado equipo de Acme:"),
    ("en", "dana@acme.example", "Hello,"),
])
def test_greeting(language, interviewer, greeting):
    assert draft(in_(language, interviewer=interviewer), 1, 2).body.splitlines()[0] == greeting


# --- whole drafts ----------------------------------------------------------------------------


def test_a_german_first_draft():
    message = draft(in_("de", interviewer="Frau Dr. Anna Müller"), 1, 2, "Jo Doe")
    assert message.subject == "Vielen Dank für das Gespräch \N{EN DASH} Backend Engineer"
    assert message.body == (
        "Sehr geehrte Frau Dr. Müller,\n\n"
        "vielen Dank, dass Sie sich die Zeit genommen haben, mit mir über die Stelle als "
        "Backend Engineer bei Acme zu sprechen. Besonders gefreut hat mich unser Austausch "
        "über the Kafka pipeline, on-call und code review.\n\n"
        "Die Stelle interessiert mich weiterhin sehr, und ich würde gern zum Erfolg des "
        "Teams beitragen. Ich freue mich darauf, von Ihnen zu hören.\n\n"
        "Mit freundlichen Grüßen\nJo Doe\n")


def test_a_french_second_draft():
    message = draft(in_("fr", interviewer="Mme Claire Dupont", role="Ingénieure backend"),
                    2, 2, "Jo Doe")
    assert message.subject == ("Suivi de ma candidature \N{EN DASH} Ingénieure backend "
                               "chez Acme")
    assert message.body == (
        "Madame Dupont,\n\n"
        "Je me permets de revenir vers vous au sujet du poste d'Ingénieure backend chez Acme. "
        "Mon intérêt reste entier, et je comprends que ces décisions prennent du temps. "
        "Merci encore.\n\n"
        "Bien cordialement,\nJo Doe\n")


def test_a_spanish_first_draft_without_topics():
    message = draft(in_("es", interviewer="Sra. Ana García", topics=""), 1, 2)
    assert message.body == (
        "Estimada Sra. García:\n\n"
        "Muchas gracias por dedicarme su tiempo para hablar conmigo sobre el puesto de "
        "Backend Engineer en Acme. Fue un placer conocer mejor al equipo y su trabajo.\n\n"
        "Mantengo un gran interés en el puesto y me encantaría contribuir al trabajo del "
        "equipo. Quedo a la espera de sus noticias.\n\n"
        "Un cordial saludo,\n")


def test_every_language_defines_what_english_does():
    from followup.content import words as module

    def public(language: str) -> set[str]:
        return {name for name in vars(module(language)) if not name.startswith("_")
                and name not in ("annotations", "Name")}

    assert public("de") >= public("en") - {"COURTESY", "ENGLISH_COURTESY"}
    assert public("fr") >= public("en") - {"COURTESY", "ENGLISH_COURTESY"}
    assert public("es") >= public("en") - {"COURTESY", "ENGLISH_COURTESY"}


# --- which language ------------------------------------------------------------------------


def test_the_interviews_language_wins_over_the_default():
    assert draft(in_("fr"), 1, 2, language="de").body.startswith("Bonjour Dana Smith,")
    assert draft(in_(None), 1, 2, language="de").body.startswith("Guten Tag Dana Smith,")
    assert draft(in_(None), 1, 2).body.startswith("Dear Dana Smith,")
    assert draft(in_("xx"), 1, 2, language="es").body.startswith("Hola Dana Smith,")


# --- the nudge texts -----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title", "body"), [
    ("en", "Follow up with Acme",
     "Your Backend Engineer interview at Acme with Dana Smith was 4 days ago "
     "(Mon 2 Mar 2026, 11:00).\nTime for follow-up 1 of 2; a draft is ready."),
    ("de", "Nachfassen bei Acme",
     "Ihr Gespräch für die Stelle als Backend Engineer bei Acme mit Dana Smith war vor "
     "4 Tagen (Mo., 2. März 2026, 11:00 Uhr).\n"
     "Zeit für Nachricht 1 von 2; ein Entwurf liegt bereit."),
    ("fr", "Relancer Acme",
     "Votre entretien pour le poste de Backend Engineer chez Acme avec Dana Smith a eu lieu "
     "il y a 4 jours (lundi 2 mars 2026 à 11:00).\n"
     "C'est le moment de la relance 1 sur 2 ; un brouillon est prêt."),
    ("es", "Seguimiento con Acme",
     "Su entrevista para el puesto de Backend Engineer en Acme con Dana Smith fue hace "
     "4 días (lunes, 2 de marzo de 2026, 11:00).\n"
     "Es el momento del seguimiento 1 de 2; hay un borrador listo."),
])
def test_the_nudge_text_is_in_the_interviews_language(language, title, body):
    found = reminder(in_(language), 1, 2, NOW, BERLIN)
    assert (found.title, found.body) == (title, body)
    assert found.draft == draft(in_(language), 1, 2)


def test_a_german_nudge_says_mit_herrn():
    found = reminder(in_("de", interviewer="Herr Klaus Weber"), 1, 2, NOW, BERLIN)
    assert " mit Herrn Klaus Weber war " in found.body


def test_a_nudge_without_a_role_names_none():
    found = reminder(in_("de", role="", interviewer=""), 1, 2, NOW, BERLIN)
    assert found.body.startswith("Ihr Gespräch bei Acme war vor 4 Tagen")


def test_a_digest_speaks_the_first_ones_language_and_each_line_its_own():
    reminders = [reminder(in_(lang, id=n, company=f"C{n}"), 1, 2, NOW, BERLIN)
                 for n, lang in enumerate(["de", "fr", "es", "en"], start=1)]
    found = notice(reminders)
    assert found.title == "4 Nachrichten zum Nachfassen sind fällig"
    assert found.body.splitlines() == [
        "C1 \N{EM DASH} Backend Engineer (Nachricht 1 von 2)",
        "C2 \N{EM DASH} Backend Engineer (relance 1 sur 2)",
        "C3 \N{EM DASH} Backend Engineer (seguimiento 1 de 2)",
        "C4 \N{EM DASH} Backend Engineer (follow-up 1 of 2)",
    ]


# --- `[me] language` and `add/edit --language` -------------------------------------------------

CLI_NOW = "2026-11-23T10:00:00+01:00"


@pytest.fixture
def fu(capsys, tmp_path):
    def call(*args: str, me: str = ""):
        path = tmp_path / "followup.toml"
        path.write_text(f'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///{tmp_path}/f.db"'
                        f'\n[me]\nname = "Jo Doe"\n{me}')
        return run(capsys, "--config", str(path), *args)
    return call


def add(fu, *extra: str) -> dict:
    done = fu("add", "--json", "--company", "Acme", "--role", "Engineer", "--at",
              "2026-11-20T15:00", "--interviewer", "Herr Klaus Weber", *extra)
    assert done.code == 0, done.err
    return done.json()


@freeze_time(CLI_NOW)
def test_add_language_goes_into_the_json_and_the_draft(fu):
    assert add(fu, "--language", "de")["language"] == "de"
    body = fu("draft", "1", "--json").json()["body"]
    assert body.startswith("Sehr geehrter Herr Weber,\n\nvielen Dank")
    assert body.endswith("Mit freundlichen Grüßen\nJo Doe\n")


@freeze_time(CLI_NOW)
def test_without_language_the_draft_follows_me_language(fu):
    assert add(fu)["language"] is None
    assert fu("draft", "1", "--json", me='language = "fr"').json()["body"].startswith(
        "Monsieur Weber,\n")
    assert fu("draft", "1", "--json").json()["body"].startswith("Dear Mr. Weber,\n")


@freeze_time(CLI_NOW)
def test_edit_language_changes_and_clears_it(fu):
    add(fu, "--language", "es")
    assert fu("edit", "1", "--language", "FR", "--json").json()["language"] == "fr"
    assert fu("show", "1", "--json").json()["language"] == "fr"
    assert fu("edit", "1", "--language", "", "--json").json()["language"] is None


@freeze_time(CLI_NOW)
def test_an_unknown_language_is_refused_and_changes_nothing(fu):
    add(fu)
    refused = fu("edit", "1", "--language", "it")
    assert refused.code == 1
    assert refused.err.strip() == ("error: language 'it' is not one the drafts are written "
                                   "in (use en, de, fr, es)")
    assert fu("show", "1", "--json").json()["language"] is None


def test_an_unknown_me_language_is_a_configuration_error(fu):
    refused = fu("list", me='language = "it"')
    assert refused.code == 78
    assert refused.err.strip().endswith(
        "[me] language: must be one of en, de, fr, es; got 'it'")


def test_the_daemons_nudges_speak_each_interviews_language(world):  # noqa: F811
    # A real daemon delivering to the command channel: the interview's own language,
    # else [me] language.
    w = world(extra='\n[me]\nname = "Jo Doe"\nlanguage = "de"\n')
    french = w.add("Lumière")
    w.cli("edit", str(french), "--language", "fr", "--interviewer", "Mme Claire Dupont")
    german = w.add("Nordlicht")
    daemon = w.start()
    wait_for(lambda: len(w.delivered()) == 2, what="both nudges")
    assert daemon.stop() == 0
    by_id = {d["interview_id"]: d for d in w.delivered()}
    assert by_id[french]["title"] == "Relancer Lumière"
    assert by_id[french]["draft_body"].startswith("Madame Dupont,\n\nJe vous remercie")
    assert by_id[french]["draft_body"].endswith("Bien cordialement,\nJo Doe\n")
    assert by_id[german]["title"] == "Nachfassen bei Nordlicht"
    assert by_id[german]["draft_body"].startswith("Sehr geehrte Damen und Herren,\n\nvielen")
