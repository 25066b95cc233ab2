"""German: the drafts and the nudge texts, in the polite "Sie" form.

After the greeting and its comma the letter goes on in lower case, as German
letters do; the closing takes no comma. The same names as `content.en`.
"""

from __future__ import annotations

from followup.content.names import Name

LOCALE = "de_DE"  # "A, B und C", "Mo., 2. März 2026"
DATE_PATTERN = "EEE, d. MMMM y, HH:mm 'Uhr'"
CLOSING = "Mit freundlichen Grüßen"


def greeting(name: Name | None) -> str:
    """"Sehr geehrte Frau Dr. Müller" / "Sehr geehrter Herr Weber" when a title says
    which; else "Guten Tag" and the name, academic titles kept."""
    if name is None:
        return "Guten Tag,"
    academic = "".join(f"{title} " for title in name.academic)
    if name.honorific:
        form = "Sehr geehrte" if name.gender == "f" else "Sehr geehrter"
        return f"{form} {name.honorific} {name.first},"
    if name.gender == "f":
        return f"Sehr geehrte Frau {academic}{name.last},"
    if name.gender == "m":
        return f"Sehr geehrter Herr {academic}{name.last},"
    other = f"{name.other} " if name.other else ""
    return f"Guten Tag {other}{academic}{name.full},"


def team_greeting(company: str) -> str:
    return "Sehr geehrte Damen und Herren,"


def first_subject(role: str, company: str) -> str:
    return (f"Vielen Dank für das Gespräch \N{EN DASH} {role}" if role
            else "Vielen Dank für das Gespräch")


def later_subject(role: str, company: str) -> str:
    return (f"Nachfrage zur Stelle als {role} bei {company}" if role
            else f"Nachfrage zu unserem Gespräch bei {company}")


def first_paragraphs(role: str, company: str, topics: str) -> list[str]:
    if role:
        thanks = ("vielen Dank, dass Sie sich die Zeit genommen haben, mit mir über die "
                  f"Stelle als {role} bei {company} zu sprechen.")
    else:
        thanks = (f"vielen Dank, dass Sie sich die Zeit für unser Gespräch bei {company} "
                  "genommen haben.")
    if topics:
        thanks += f" Besonders gefreut hat mich unser Austausch über {_end(topics)}"
    else:
        thanks += " Es hat mich gefreut, mehr über das Team und seine Arbeit zu erfahren."
    interest = ("Die Stelle interessiert mich weiterhin sehr, und ich würde gern zum Erfolg "
                "des Teams beitragen. Ich freue mich darauf, von Ihnen zu hören.")
    return [thanks, interest]


def later_paragraphs(role: str, company: str) -> list[str]:
    about = (f"zur Stelle als {role} bei {company}" if role
             else f"nach unserem Gespräch bei {company}")
    return [f"ich melde mich noch einmal kurz {about}. Mein Interesse ist unverändert groß, "
            "und ich verstehe gut, dass solche Entscheidungen Zeit brauchen. Nochmals vielen "
            "Dank."]


# --- what the user reads -------------------------------------------------------------------

UNITS = {"minute": ("Minute", "Minuten"), "hour": ("Stunde", "Stunden"),
         "day": ("Tag", "Tagen"), "week": ("Woche", "Wochen"),
         "month": ("Monat", "Monaten"), "year": ("Jahr", "Jahren")}


def ago(count: int, unit: str) -> str:
    """"vor 5 Minuten"; count 0 is "gerade eben"."""
    return f"vor {count} {UNITS[unit][count != 1]}" if count else "gerade eben"


def reminder_title(company: str) -> str:
    return f"Nachfassen bei {company}"


def reminder_body(role: str, company: str, interviewer: str, ago: str, when: str,
                  number: int, of: int, in_drafts: bool = False) -> str:
    what = (f"Ihr Gespräch für die Stelle als {role} bei {company}" if role
            else f"Ihr Gespräch bei {company}")
    with_whom = f" mit {_dative(interviewer)}" if interviewer else ""
    return (f"{what}{with_whom} war {ago} ({when}).\n"
            f"Zeit für Nachricht {number} von {of}; "
            + ("ein Entwurf liegt im Ordner Entwürfe." if in_drafts
               else "ein Entwurf liegt bereit."))


def digest_title(count: int) -> str:
    return f"{count} Nachrichten zum Nachfassen sind fällig"


def digest_line(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} \N{EM DASH} {role}" if role else company
    return f"{what} (Nachricht {number} von {of})"


def email_subject(what: str, number: int, of: int) -> str:
    return f"{what}: Nachricht {number} von {of} ist fällig"


BUTTONS = {"draft": "Entwurf öffnen", "sent": "Gesendet", "snooze": "Einen Tag später"}
READY_DRAFT = "Ihr fertiger Entwurf:"
OPEN_IT = "In Ihrem Mailprogramm öffnen:"


def event_title(company: str, number: int, of: int) -> str:
    return f"Nachfassen bei {company} ({number} von {of})"


def event_intro(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} ({role})" if role else company
    return f"Zeit für Nachricht {number} von {of} an {what}. Ein Entwurf:"


def _dative(name: str) -> str:
    """"mit Herrn Weber": Herr takes an n after "mit"."""
    return "Herrn " + name.removeprefix("Herr ") if name.startswith("Herr ") else name


def _end(text: str) -> str:
    return text if text.endswith("\N{HORIZONTAL ELLIPSIS}") else text + "."
