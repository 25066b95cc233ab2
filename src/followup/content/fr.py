"""French: the drafts and the nudge texts, in the "vous" form.

Written so that they read the same whoever signs them (no adjective that
agrees with the writer). "de" becomes "d'" before a vowel. The same names as
`content.en`.
"""

from __future__ import annotations

from followup.content.names import Name

LOCALE = "fr_FR"  # "A, B et C", "lundi 2 mars 2026"
DATE_PATTERN = "EEEE d MMMM y 'à' HH:mm"
CLOSING = "Bien cordialement,"
VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒ")


def greeting(name: Name | None) -> str:
    """"Madame Dupont" / "Monsieur Dupont" when a title says which; else "Bonjour" and
    the name (French letters do not greet with academic titles)."""
    if name is None:
        return "Bonjour,"
    if name.gender == "f":
        return f"Madame {name.last},"
    if name.gender == "m":
        return f"Monsieur {name.last},"
    return f"Bonjour {name.full},"


def team_greeting(company: str) -> str:
    return "Madame, Monsieur,"


def first_subject(role: str, company: str) -> str:
    return f"Merci pour l'entretien \N{EN DASH} {role}" if role else "Merci pour l'entretien"


def later_subject(role: str, company: str) -> str:
    return (f"Suivi de ma candidature \N{EN DASH} {role} chez {company}" if role
            else f"Suivi de notre entretien chez {company}")


def first_paragraphs(role: str, company: str, topics: str) -> list[str]:
    about = (f"au sujet du poste {_of(role)} chez {company}" if role
             else f"lors de notre entretien chez {company}")
    thanks = f"Je vous remercie d'avoir pris le temps d'échanger avec moi {about}."
    if topics:
        thanks += f" J'ai particulièrement apprécié notre discussion sur {_end(topics)}"
    else:
        thanks += " Ce fut un plaisir d'en apprendre davantage sur l'équipe et son travail."
    interest = ("Ce poste m'intéresse toujours vivement, et ce serait un plaisir de contribuer "
                "au travail de l'équipe. Au plaisir d'avoir de vos nouvelles.")
    return [thanks, interest]


def later_paragraphs(role: str, company: str) -> list[str]:
    about = (f"au sujet du poste {_of(role)} chez {company}" if role
             else f"à la suite de notre entretien chez {company}")
    return [f"Je me permets de revenir vers vous {about}. Mon intérêt reste entier, et je "
            "comprends que ces décisions prennent du temps. Merci encore."]


# --- what the user reads -------------------------------------------------------------------

UNITS = {"minute": ("minute", "minutes"), "hour": ("heure", "heures"), "day": ("jour", "jours"),
         "week": ("semaine", "semaines"), "month": ("mois", "mois"), "year": ("an", "ans")}


def ago(count: int, unit: str) -> str:
    """"il y a 5 minutes"; count 0 is "à l'instant"."""
    return f"il y a {count} {UNITS[unit][count != 1]}" if count else "à l'instant"


def reminder_title(company: str) -> str:
    return f"Relancer {company}"


def reminder_body(role: str, company: str, interviewer: str, ago: str, when: str,
                  number: int, of: int, in_drafts: bool = False) -> str:
    what = (f"Votre entretien pour le poste {_of(role)} chez {company}" if role
            else f"Votre entretien chez {company}")
    with_whom = f" avec {interviewer}" if interviewer else ""
    return (f"{what}{with_whom} a eu lieu {ago} ({when}).\n"
            f"C'est le moment de la relance {number} sur {of} ; "
            + ("un brouillon attend dans Brouillons." if in_drafts
               else "un brouillon est prêt."))


def digest_title(count: int) -> str:
    return f"{count} relances à envoyer"


def digest_line(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} \N{EM DASH} {role}" if role else company
    return f"{what} (relance {number} sur {of})"


def email_subject(what: str, number: int, of: int) -> str:
    return f"{what} : relance {number} sur {of} à envoyer"


BUTTONS = {"draft": "Ouvrir le brouillon", "sent": "C'est envoyé", "snooze": "Reporter d'un jour"}
READY_DRAFT = "Votre relance, prête à l'envoi :"
OPEN_IT = "L'ouvrir dans votre messagerie :"


def event_title(company: str, number: int, of: int) -> str:
    return f"Relancer {company} ({number} sur {of})"


def event_intro(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} ({role})" if role else company
    return f"C'est le moment de la relance {number} sur {of} à {what}. Un brouillon :"


def _of(word: str) -> str:
    """"de" before the word, "d'" before a vowel ("poste d'ingénieur")."""
    return f"d'{word}" if word[:1] in VOWELS else f"de {word}"


def _end(text: str) -> str:
    return text if text.endswith("\N{HORIZONTAL ELLIPSIS}") else text + "."
