# ruff: noqa: RUF001  (the lists hold words of many languages, letters as they are written)
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
# of these (any case, after any "[" or "("; then a colon, a space, a dash, a
# bracket or the end) is an automatic reply.
AUTO_REPLY_SUBJECTS = (
    # English
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
    "autoreply", "auto response", "auto-response", "autoresponse", "autorespons",
    "automatic response", "automated response", "automated reply", "away from the office",
    "away from my desk", "on vacation", "vacation reply", "vacation auto", "on leave",
    "on holiday", "away until", "absence notice", "ooo", "auto:",
    # German
    "abwesenheitsnotiz", "abwesenheitsmeldung", "abwesenheit", "automatische antwort",
    "automatische rückantwort", "abwesend", "nicht im büro", "autom. antwort",
    "außer haus", "ausser haus", "urlaub",
    # French
    "réponse automatique", "reponse automatique", "réponse auto", "absent du bureau",
    "absence du bureau", "message d'absence", "absence", "absent", "en congé",
    # Spanish, Portuguese, Italian
    "respuesta automática", "respuesta automatica", "fuera de la oficina", "ausencia",
    "resposta automática", "resposta automatica", "ausente do escritório", "ausente",
    "risposta automatica", "fuori sede", "fuori ufficio", "assenza",
    # Dutch, Scandinavian, Finnish, Polish, Czech, Hungarian, Turkish, Greek
    "automatisch antwoord", "afwezig", "afwezigheid", "autosvar", "automatisk svar",
    "automatiskt svar", "frånvaro", "fravær", "fraværsmelding", "automaattinen vastaus",
    "poissa", "odpowiedź automatyczna", "automatyczna odpowiedź", "poza biurem",
    "nieobecność", "automatická odpověď", "mimo kancelář", "automatikus válasz",
    "házon kívül", "otomatik yanıt", "otomatik cevap", "ofis dışında", "αυτόματη απάντηση",
    # Others
    "автоответ", "автоматический ответ", "нет на месте", "自动回复", "自動回覆", "自動応答",
    "自動返信", "不在", "자동 응답", "부재중",
)
# Phrases that say "out of office" anywhere in a subject ("AUTO: Smith, John is out
# of the office (returning 05/06/2030)", "Dana Smith ist außer Haus").
AUTO_REPLY_PHRASES = (
    "is out of the office", "is out of office", "out of office:", "out of office reply",
    "ist außer haus", "ist ausser haus", "ist nicht im büro", "est absent",
    "est absente", "automatic reply", "auto-reply", "autoreply", "[auto-reply]",
)

# Senders of bounces (delivery-status reports): local parts with dots, dashes,
# underscores and spaces left out, lower case ("Mail.Delivery.System",
# "MAILER-DAEMON", "post_master").
MAILER_DAEMONS = frozenset({
    "mailerdaemon", "maildaemon", "mailerdeamon", "maildeliverysystem",
    "maildeliverysubsystem", "maildelivery", "deliverystatusnotification",
    "nondeliveryreport", "mailadmin", "smtpgateway",
})
# Postmasters also write by hand: theirs is a bounce only with another sign.
POSTMASTERS = frozenset({"postmaster", "postoffice", "mailmaster"})
# Display names of bounce senders (the address may be anything).
BOUNCE_NAMES = frozenset({
    "mail delivery system", "mail delivery subsystem", "mailer-daemon", "mailer daemon",
    "mail administrator", "postmaster", "mail delivery service", "microsoft outlook",
    "microsoft exchange", "delivery status notification", "mail system",
})

# Subjects of delivery failures: a subject that contains one of these (any case)
# is a bounce when it also has a machine sign (an empty Return-Path, a mailer
# daemon or postmaster sender, Auto-Submitted), or on its own when it starts with it.
BOUNCE_SUBJECTS = (
    "undeliverable", "undelivered mail", "undeliverable mail", "undelivered message",
    "delivery status notification", "returned mail", "mail delivery failed",
    "mail delivery failure", "delivery failure", "delivery failed", "delivery has failed",
    "failure notice", "failed delivery", "delivery notification", "could not send message",
    "message not delivered", "message delivery failure", "message delivery has failed",
    "nondeliverable", "non-deliverable", "not delivered", "returned to sender",
    "mail system error", "delivery problem", "mail could not be delivered",
    "delivery report", "rejected:", "bounce", "unzustellbar", "nicht zustellbar",
    "non remis", "non distribuable", "no se puede entregar", "no entregado",
    "non recapitabile", "onbestelbaar", "não entregue", "kan inte levereras",
    "ikke levert", "nie można dostarczyć", "недоставлен", "не доставлено",
    "配信不能", "送信できません", "メールエラー", "エラー通知", "退信", "未送达",
    "error sending", "warning: message",
    "delayed mail", "delivery delayed", "delivery status", "delayed:", "(delay)",
    "message could not be delivered", "mail delivery problem", "permanent error",
    "returned mail:", "mail failure", "failed mail", "delivery error",
)
# Of those, the subjects of a delay warning: the server is still trying, so the
# follow-up may still arrive; not told.
DELAY_SUBJECTS = (
    "delayed mail", "delivery delayed", "(delay)", "delayed:", "still being retried",
    "warning: message", "warning: could not send message for past",
    "delivery status notification (delay)", "verzögert",
)

# Machine-sent mail that is not a reply (RFC 3834 Auto-Submitted values other
# than "no", Precedence values, and senders of reports).
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Local parts (dots, dashes and underscores left out) of senders of feedback,
# DMARC and abuse reports.
REPORT_SENDERS = frozenset({
    "dmarc", "dmarcreports", "dmarcreport", "dmarcnoreply", "noreplydmarcsupport",
    "dmarcsupport", "feedbackloop", "fbl", "scomp", "abuse", "complaints",
    "arf", "opendmarcpostmaster", "spamreport",
})
# Subjects of reports, challenge-response robots and read receipts (contained, any case).
AUTOMATIC_SUBJECTS = (
    "report domain:", "dmarc aggregate report", "dmarc forensic report", "dmarc report",
    "feedback report", "abuse report", "complaint about message", "spamtraphit",
    "please confirm your message", "please verify your email", "verify your message",
    "confirm your message", "challenge-response", "sender verification",
    "message awaiting your confirmation", "your message is awaiting verification",
    "read receipt", "disposition notification", "loop alert",
)
# Subjects of read receipts start with these.
READ_RECEIPT_SUBJECTS = ("read:", "gelesen:", "lu :", "lu:", "leído:", "letto:", "gelezen:",
                         "läst:", "læst:", "luettu:", "přečteno:", "odczytano:")
# Headers of mailing lists' posts (RFC 2369, RFC 2919, ezmlm's).
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "List-Subscribe", "List-Help",
                "Mailing-List")
# Headers only challenge-response robots put on their mail.
CHALLENGE_HEADERS = ("X-Boxbe-Confirm", "X-Spamarrest-Noauth", "X-CR-Challenge",
                     "X-Mailbox-Challenge")

# Legal-form words left out when company names are compared ("Acme Inc." = "ACME").
LEGAL_FORMS = frozenset({
    "inc", "incorporated", "llc", "llp", "ltd", "limited", "corp", "corporation", "co",
    "company", "plc", "gmbh", "ag", "kg", "se", "sa", "sas", "sarl", "srl", "spa", "bv",
    "nv", "ab", "oy", "oyj", "as", "asa", "aps", "pty", "pvt", "kk", "ug", "group",
})
