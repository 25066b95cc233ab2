"""Issue 19, item 2: the greeting of a draft, from the interviewer's name as
nameparser reads it (titles, suffixes, "Last, First", particles, parentheses,
accents as typed); an address or no name at all greets without a name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from followup.content import draft

ACME = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def first_line(interviewer: str, language: str = "en", company: str = "Acme") -> str:
    from followup.models import Interview

    interview = Interview(id=1, company=company, role="Engineer", interview_at=ACME,
                          interviewer=interviewer, language=language)
    return draft(interview, 1, 2).body.splitlines()[0]


@pytest.mark.parametrize(("interviewer", "greeting"), [
    # the cases of the issue
    ("Ms. Sarah O'Connor, PhD", "Dear Dr. O'Connor,"),
    ("Sir Patrick Stewart", "Dear Sir Patrick,"),
    ("Smith, John", "Dear John Smith,"),
    ("Dr.", "Hello,"),
    ("Anna Lee (HR)", "Dear Anna Lee,"),
    ("Prof. Dr. Zoë Ó Briain-Żółć", "Dear Prof. Ó Briain-Żółć,"),
    ("dana@acme.example", "Hello,"),
    ("Dr. Jürgen Müller", "Dear Dr. Müller,"),
    # names as given
    ("Jane Smith", "Dear Jane Smith,"),
    ("Zoë Ó Briain-Żółć", "Dear Zoë Ó Briain-Żółć,"),
    ("Jean-Luc Picard", "Dear Jean-Luc Picard,"),
    ("María José García López", "Dear María José García López,"),
    ("J. R. R. Tolkien", "Dear J. R. R. Tolkien,"),
    ("Lee", "Dear Lee,"),
    ("  Jane   Smith  ", "Dear Jane Smith,"),
    ('Robert "Bob" Smith', "Dear Robert Smith,"),
    ("Jane Smith <jane@acme.example>", "Dear Jane Smith,"),
    ("Who?", "Dear Who,"),
    # typed all in lower or upper case
    ("jane smith", "Dear Jane Smith,"),
    ("SMITH, JANE", "Dear Jane Smith,"),
    ("dr. sarah o'connor", "Dear Dr. O'Connor,"),
    ("ms jane mcdonald", "Dear Ms McDonald,"),
    ("Jane McDonald", "Dear Jane McDonald,"),
    # "Last, First"
    ("Doe, Jane A.", "Dear Jane A. Doe,"),
    ("van der Berg, Anna", "Dear Anna van der Berg,"),
    ("O'Connor, Sarah, PhD", "Dear Dr. O'Connor,"),
    # particles stay with the family name
    ("Ludwig van Beethoven", "Dear Ludwig van Beethoven,"),
    ("Juan de la Cruz", "Dear Juan de la Cruz,"),
    ("Prof. Dr. Anna van der Berg", "Dear Prof. van der Berg,"),
    ("Dr. Jan de Vries", "Dear Dr. de Vries,"),
    # courtesy titles: English as typed, the others' in English
    ("Ms Jane Ann Smith", "Dear Ms Smith,"),
    ("Mrs. Jane Smith", "Dear Mrs. Smith,"),
    ("Miss Jane Smith", "Dear Miss Smith,"),
    ("Mr. James Bond", "Dear Mr. Bond,"),
    ("Mx Sam Lee", "Dear Mx Lee,"),
    ("Frau Weber", "Dear Ms. Weber,"),
    ("Herr Klaus Weber", "Dear Mr. Weber,"),
    ("Mme Claire Dupont", "Dear Ms. Dupont,"),
    ("Sra. Ana García", "Dear Ms. García,"),
    # academic titles and suffixes: the highest one
    ("Dr Jane Smith", "Dear Dr. Smith,"),
    ("Professor Ada Lovelace", "Dear Prof. Lovelace,"),
    ("Frau Dr. Anna Müller", "Dear Dr. Müller,"),
    ("Jane Doe, PhD", "Dear Dr. Doe,"),
    ("John Smith, MD", "Dear Dr. Smith,"),
    ("Dra. Ana Ruiz", "Dear Dr. Ruiz,"),
    ("Dr. Martin Luther King, Jr.", "Dear Dr. King,"),
    # other suffixes
    ("John Smith III", "Dear John Smith III,"),
    ("Jane Smith, MBA", "Dear Jane Smith,"),
    # honorifics go with the given name
    ("Dame Judi Dench", "Dear Dame Judi,"),
    # other titles as typed
    ("Rev. Jane Doe", "Dear Rev. Doe,"),
    ("Capt. Jane Doe", "Dear Capt. Doe,"),
    # nothing to greet
    ("Ms.", "Hello,"),
    ("Frau", "Hello,"),
    ("---", "Hello,"),
    ("Dr Dr Dr Dr Dr Dr", "Hello,"),
    ("jane.smith@acme.example", "Hello,"),
    ("<jane@acme.example>", "Hello,"),
    # no interviewer: the company's team
    ("", "Dear Acme team,"),
    ("   ", "Dear Acme team,"),
])
def test_english_greeting(interviewer, greeting):
    assert first_line(interviewer) == greeting


def test_no_interviewer_and_no_company_is_hello():
    assert first_line("", company="") == "Hello,"
