"""Spanish: the drafts and the nudge texts, in the "usted" form.

A formal greeting ends with a colon, as Spanish letters do ("Estimada Sra.
García:"); the texts read the same whoever signs them (no adjective that
agrees with the writer). The same names as `content.en`.
"""

from __future__ import annotations

from followup.content.names import Name

LOCALE = "es_ES"  # "A, B y C", "lunes, 2 de marzo de 2026"
DATE_PATTERN = "EEEE, d 'de' MMMM 'de' y, H:mm"
CLOSING = "Un cordial saludo,"
FORMS = {  # (the greeting's adjective, its title) by gender and academic title
    ("f", "Prof."): ("Estimada", "profesora"), ("m", "Prof."): ("Estimado", "profesor"),
    ("f", "Dr."): ("Estimada", "Dra."), ("m", "Dr."): ("Estimado", "Dr."),
    ("f", ""): ("Estimada", "Sra."), ("m", ""): ("Estimado", "Sr."),
}


def greeting(name: Name | None) -> str:
    """"Estimada Sra. García:" / "Estimado Dr. Ruiz:" when a title says which; else
    "Hola" and the name."""
    if name is None:
        return "Hola,"
    form = FORMS.get((name.gender, name.academic[0] if name.academic else ""))
    if form:
        return f"{form[0]} {form[1]} {name.last}:"
    return f"Hola {name.full},"


def team_greeting(company: str) -> str:
    return f"Estimado equipo de {company}:"


def first_subject(role: str, company: str) -> str:
    return (f"Gracias por la entrevista \N{EN DASH} {role}" if role
            else "Gracias por la entrevista")


def later_subject(role: str, company: str) -> str:
    return (f"Seguimiento: {role} en {company}" if role
            else f"Seguimiento de la entrevista en {company}")


def first_paragraphs(role: str, company: str, topics: str) -> list[str]:
    about = (f"para hablar conmigo sobre el puesto de {role} en {company}" if role
             else f"en nuestra entrevista en {company}")
    thanks = f"Muchas gracias por dedicarme su tiempo {about}."
    if topics:
        thanks += f" Disfruté especialmente de nuestra conversación sobre {_end(topics)}"
    else:
        thanks += " Fue un placer conocer mejor al equipo y su trabajo."
    interest = ("Mantengo un gran interés en el puesto y me encantaría contribuir al trabajo "
                "del equipo. Quedo a la espera de sus noticias.")
    return [thanks, interest]


def later_paragraphs(role: str, company: str) -> list[str]:
    about = (f"en relación con el puesto de {role} en {company}" if role
             else f"en relación con nuestra entrevista en {company}")
    return [f"Le escribo de nuevo {about}. Mi interés sigue intacto y entiendo que estas "
            "decisiones llevan su tiempo. Gracias de nuevo."]


# --- what the user reads -------------------------------------------------------------------

UNITS = {"minute": ("minuto", "minutos"), "hour": ("hora", "horas"), "day": ("día", "días"),
         "week": ("semana", "semanas"), "month": ("mes", "meses"), "year": ("año", "años")}


def ago(count: int, unit: str) -> str:
    """"hace 5 minutos"; count 0 is "justo ahora"."""
    return f"hace {count} {UNITS[unit][count != 1]}" if count else "justo ahora"


def reminder_title(company: str) -> str:
    return f"Seguimiento con {company}"


def reminder_body(role: str, company: str, interviewer: str, ago: str, when: str,
                  number: int, of: int, in_drafts: bool = False) -> str:
    what = (f"Su entrevista para el puesto de {role} en {company}" if role
            else f"Su entrevista en {company}")
    with_whom = f" con {interviewer}" if interviewer else ""
    return (f"{what}{with_whom} fue {ago} ({when}).\n"
            f"Es el momento del seguimiento {number} de {of}; "
            + ("hay un borrador esperando en Borradores." if in_drafts
               else "hay un borrador listo."))


def digest_title(count: int) -> str:
    return f"{count} seguimientos pendientes"


def digest_line(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} \N{EM DASH} {role}" if role else company
    return f"{what} (seguimiento {number} de {of})"


def email_subject(what: str, number: int, of: int) -> str:
    return f"{what}: toca el seguimiento {number} de {of}"


BUTTONS = {"draft": "Abrir el borrador", "sent": "Ya lo envié", "snooze": "Posponer un día"}
READY_DRAFT = "Su seguimiento, listo para enviar:"
OPEN_IT = "Ábralo en su programa de correo:"


def event_title(company: str, number: int, of: int) -> str:
    return f"Seguimiento con {company} ({number} de {of})"


def event_intro(role: str, company: str, number: int, of: int) -> str:
    what = f"{company} ({role})" if role else company
    return f"Es el momento del seguimiento {number} de {of} a {what}. Un borrador:"


def _end(text: str) -> str:
    return text if text.endswith("\N{HORIZONTAL ELLIPSIS}") else text + "."
