"""`followup import` against a labelled corpus of real, public test calendars.

tests/data/calendars/corpus/README.md names the sources and their licences;
labels.tsv says, per file, whether it is an iCalendar file a careful person
would read (exit 0) or not (exit 1), and how many of its events are job
interviews (none of these test calendars holds one). Each file is imported with
--dry-run at the time of its first event, with words that make most of its
events candidates (support/calendar_corpus.py): whatever the file holds, the
answer is exit 0 or exit 1 with one clean line, never a traceback.
"""

from __future__ import annotations

import pytest

from support.calendar_corpus import Label, import_file, labels

LABELS = labels()


def test_the_corpus_is_large():
    assert len(LABELS) >= 300


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("calendar-corpus")  # one database for every dry run


@pytest.mark.parametrize("label", LABELS, ids=[label.file for label in LABELS])
def test_a_real_calendar_is_imported_or_refused_in_one_clean_line(label: Label, folder):
    outcome = import_file(label.file, folder)
    assert outcome.exit == label.exit, outcome.err
    assert "Traceback" not in outcome.err and "Warning" not in outcome.err
    if outcome.exit == 1:
        assert outcome.err.count("\n") == 1 and outcome.err.startswith("error: ")
        assert outcome.err.isprintable() or outcome.err[:-1].isprintable()
    else:
        assert outcome.err == ""
    assert outcome.interviews == label.interviews
