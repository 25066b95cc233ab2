"""The lists the mailbox and calendar decisions use, as data in one place: extend
them here.

Domains are lower case. A `PUBLIC_PROVIDER_NAMES` entry matches that name under
any top-level domain ("yahoo" matches yahoo.com, yahoo.co.uk, yahoo.fr).
"""

from __future__ import annotations

# Public mail providers: anyone can have an address there, so only an exact
# address (an interview's `email`) counts, never the whole domain.
PUBLIC_PROVIDERS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "ymail.com", "rocketmail.com",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "fastmail.com", "fastmail.fm",
    "zoho.com", "zohomail.com", "yandex.com", "yandex.ru", "mail.ru", "tutanota.com",
    "tutanota.de", "tuta.io", "tuta.com", "hey.com", "web.de", "t-online.de", "freenet.de",
    "posteo.de", "posteo.net", "mailbox.org", "orange.fr", "wanadoo.fr", "free.fr",
    "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "qq.com", "163.com", "126.com",
    "naver.com", "daum.net", "rediffmail.com", "mail.com", "email.com", "inbox.com",
    "hushmail.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "bluewin.ch", "gmx.net",
    "gmx.de", "gmx.at", "gmx.ch", "gmx.com",
})
PUBLIC_PROVIDER_NAMES = frozenset({"yahoo", "hotmail", "outlook", "live", "gmx", "yandex"})

# Applicant-tracking systems: mail from these (or their subdomains) is the
# employer's answer when it names the company.
TRACKING_SYSTEMS = frozenset({
    "greenhouse-mail.io", "greenhouse.io", "hire.lever.co", "lever.co", "myworkday.com",
    "workday.com", "ashbyhq.com", "teamtailor-mail.com", "teamtailor.com",
    "workablemail.com", "workable.com", "smartrecruiters.com", "icims.com", "jobvite.com",
    "bamboohr.com", "recruitee.com", "personio.de", "personio.com", "jazzhr.com",
    "applytojob.com", "successfactors.com", "successfactors.eu", "taleo.net", "breezy.hr",
    "pinpointhq.com", "join.com", "rippling-ats.com", "dover.com", "homerun.co",
})

# Services that send calendar invitations for employers (beside the tracking systems).
SCHEDULING_SERVICES = frozenset({"calendly.com", "goodtime.io", "modernloop.io"})
# Meeting and calendar services whose addresses stand in invitations: never the employer.
MEETING_SERVICES = frozenset({"google.com", "zoom.us"})

# Subjects of out-of-office and vacation replies: a subject that starts with one
# of these (any case; then a colon, a space, a dash or the end) is automatic.
AUTO_REPLY_SUBJECTS = (
    # English
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
    "autoreply", "auto response", "auto-response", "automatic response", "away from the office",
    "on vacation", "vacation reply", "on leave", "ooo",
    # German
    "abwesenheitsnotiz", "abwesenheitsmeldung", "automatische antwort", "abwesend",
    "nicht im büro", "autom. antwort",
    # French
    "réponse automatique", "reponse automatique", "absent du bureau", "absence du bureau",
    "message d'absence",
    # Spanish, Portuguese, Italian
    "respuesta automática", "respuesta automatica", "fuera de la oficina",
    "resposta automática", "resposta automatica", "ausente do escritório",
    "risposta automatica", "fuori sede", "fuori ufficio",
    # Dutch, Scandinavian, Finnish, Polish
    "automatisch antwoord", "afwezig", "autosvar", "automatisk svar", "automatiskt svar",
    "frånvaro", "fravær", "automaattinen vastaus", "poissa", "odpowiedź automatyczna",
    "poza biurem",
    # Others
    "автоответ", "автоматический ответ", "自动回复", "自動応答", "自動返信", "자동 응답",
)

# Local parts of senders that deliver bounces (delivery-status reports).
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})

# Legal-form words left out when company names are compared ("Acme Inc." = "ACME").
LEGAL_FORMS = frozenset({
    "inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
    "company", "plc", "gmbh", "ag", "kg", "se", "sa", "sas", "sarl", "srl", "spa", "bv",
    "nv", "ab", "oy", "oyj", "as", "asa", "aps", "pty", "pvt", "kk", "ug", "group",
})
