"""The mailbox decisions against a labelled corpus of real, public mail (headers only).

tests/data/mail/README.md names the sources and their licences; labels.tsv
holds what a careful person decides for each message. The scenario puts every
message in the worst light (support/mail_corpus.py): as if the employer's own
address had sent it after the interview. Nothing but a person's message may then
come out a reply, no person's message may be missed, and a bounce that names the
user's follow-up or comes from the employer's side is told.
"""

from __future__ import annotations

import pytest

from support.mail_corpus import KINDS, Label, decide_file, labels

LABELS = labels()


def test_the_corpus_is_large_and_every_label_is_known():
    assert len(LABELS) >= 500
    assert {label.kind for label in LABELS} <= set(KINDS)


@pytest.mark.parametrize("label", LABELS, ids=[label.file for label in LABELS])
def test_a_real_message_is_decided_as_a_careful_person_would(label: Label):
    outcome = decide_file(label.file)
    if label.kind == "reply":
        assert outcome.found == "reply", f"a person's message missed: {outcome}"
    else:
        assert outcome.found != "reply", f"taken for a reply: {outcome}"
    if label.kind == "bounce" and label.told:
        assert outcome.told, f"a bounce not told: {outcome}"
    if label.kind in ("auto_reply", "automatic"):
        assert outcome.kind in (label.kind, "bounce"), outcome
