"""English: the drafts and the nudge texts. Polite, brief, in the writer's own voice.

Every language's module defines the same names as this one (the greetings,
subjects, paragraphs, closing, and the nudge texts); the shared part
(`content/__init__.py`) clips the fields, joins the topics and assembles the
letter.
"""

from __future__ import annotations

from followup.content.names import Name

LOCALE = "en_GB"  # Babel's: "A, B and C", "Mon 2 Mar 2026"
DATE_PATTERN = "EEE d MMM y, HH:mm"
CLOSING = "Best regards,"
COURTESY = {"f": "Ms.", "m": "Mr.", "x": "Mx"}
ENGLISH_COURTESY = frozenset({"mr", "mrs", "ms", "miss", "mx"})


def greeting(name: Name | None) -> str:
    """Dr. or Prof. before the family name; Sir and Dame before the given name; an
    English courtesy title as typed, another language's in English; else the name."""
    if name is None:
        return "Hello,"
    if name.honorific:
        return f"Dear {name.honorific} {name.first},"
    if name.academic:
        return f"Dear {name.academic[0]} {name.last},"
    if name.gender:
        typed = name.courtesy if name.courtesy.lower().rstrip(".") in ENGLISH_COURTESY \
            else COURTESY[name.gender]
        return f"Dear {typed} {name.last},"
    if name.other:
        return f"Dear {name.other} {name.last},"
    return f"Dear {name.full},"


def team_greeting(company: str) -> str:
    return f"Dear {company} team,"


def first_subject(role: str, company: str) -> str:
    return f"Thank you \N{EN DASH} {role} interview" if role else "Thank you for the interview"


def later_subject(role: str, company: str) -> str:
    if not role:
        return f"Following up: my interview at {company}"
    return f"Following up: {role} at {company}"


def first_paragraphs(role: str, company: str, topics: str) -> list[str]:
    about = f"the {role} position at {company}" if role else f"joining {company}"
    thanks = f"Thank you for taking the time to speak with me about {about}."
    if topics:
        thanks += f" I particularly enjoyed our conversation about {_end(topics)}"
    else:
        thanks += " I enjoyed learning more about the team and its work."
    interest = ("I remain very interested in the role and would be glad to contribute to "
                "the team. I look forward to hearing from you.")
    return [thanks, interest]


def later_paragraphs(role: str, company: str) -> list[str]:
    about = f"the {role} position at {company}" if role else f"our interview at {company}"
    return [f"I am following up on my note about {about}. I remain very interested and "
            "understand that these decisions take time. Thank you again."]


# --- what the user reads -------------------------------------------------------------------

UNITS = {"minute": ("minute", "minutes"), "hour": ("hour", "hours"), "day": ("day", "days"),
         "week": ("week", "weeks"), "month": ("month", "months"), "year": ("year", "years")}


def ago(count: int, unit: str) -> str:
    """"5 minutes ago"; count 0 is "just now"."""
    return f"{count} {UNITS[unit][count != 1]} ago" if count else "just now"


def reminder_title(company: str) -> str:
    return f"Follow up with {company}"


def reminder_body(role: str, company: str, interviewer: str, ago: str, when: str,
                  number: int, of: int, in_drafts: bool = False) -> str:
    what = f"Your {role} interview at {company}" if role else f"Your interview at {company}"
    with_whom = f" with {interviewer}" if interviewer else ""
    return (f"{what}{with_whom} was {ago} ({when}).\n"
            f"Time for follow-up {number} of {of}; "
            + ("a draft is waiting in Drafts." if in_drafts
               else "a draft is ready."))


def digest_title(count: int) -> str:
    return f"{count} follow-ups are due"


def digest_line(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} \N{EM DASH} {role}" if role else company
    return f"{what} (follow-up {number} of {of})"


def email_subject(what: str, number: int, of: int) -> str:
    """The subject of a nudge's email; `what` is "Acme (Engineer)" or "Acme"."""
    return f"{what}: follow-up {number} of {of} is due"


# The desktop notification's buttons, by action key.
BUTTONS = {"draft": "Open draft", "sent": "I sent it", "snooze": "Snooze 1 day"}
READY_DRAFT = "Your ready follow-up:"
OPEN_IT = "Open it in your mail client:"


def event_title(company: str, number: int, of: int) -> str:
    return f"Follow up with {company} ({number} of {of})"


def event_intro(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} ({role})" if role else company
    return f"Time for follow-up {number} of {of} to {what}. A draft:"


def _end(text: str) -> str:
    return text if text.endswith("\N{HORIZONTAL ELLIPSIS}") else text + "."
