"""The interviewer's name as a letter greets it, read by `nameparser`.

Pure. `parse` finds the parts a greeting needs: what a courtesy title says
of the person (Ms, Herr, Madame, Sra.: "f" or "m"), their academic titles
(Prof., Dr.; a PhD after the name is a Dr.), an honorific that goes with the
given name (Sir, Dame), any other title as typed (Rev., Capt.), the given and
family names ("Smith, John" too; particles such as "van der" or "Ó" stay
with the family name, accents as typed; a name typed all in lower or upper
case is capitalized as names are). What is in parentheses or quotes
(a nickname, a department) is no part of the name. An address, or text with
no name in it ("Dr.", "?"), is None: the letter then greets without a name.
nameparser is imported on first use (it costs about 0.2 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

FEMALE = frozenset({"ms", "mrs", "miss", "frau", "madame", "mme", "mlle", "mademoiselle",
                    "señora", "senora", "sra", "srta", "señorita", "senorita", "doña", "dona",
                    "dra", "dame", "signora", "sig.ra"})
MALE = frozenset({"mr", "herr", "hr", "monsieur", "señor", "senor", "sr", "don", "sir", "signor",
                  "sig"})
NEUTRAL = frozenset({"mx"})
PROFESSOR = frozenset({"prof", "professor", "professorin", "profesor", "profesora",
                       "professeur", "professeure"})
DOCTOR = frozenset({"dr", "dra", "doctor", "doctora", "docteur", "doktor", "dott", "dr.-ing",
                    "dr-ing", "dr.med", "dr.phil", "dr.rer.nat"})
HONORIFICS = frozenset({"sir", "dame"})  # they go with the given name: "Sir Patrick"
DOCTOR_SUFFIXES = frozenset({"phd", "ph.d", "dphil", "md", "m.d", "edd", "dsc", "dds", "dvm",
                             "jd", "drph", "psyd"})
GENERATIONS = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "junior", "senior"})
ANGLED = re.compile(r"<[^<>]*>")  # "Jane Smith <jane@acme.example>"


@dataclass(frozen=True, slots=True)
class Name:
    """A parsed name: `gender` as a courtesy title says it ("f", "m", "x" or None);
    `academic` the academic titles in their usual order ("Prof.", "Dr.");
    `courtesy` the title that says so, as typed; `honorific` "Sir" or "Dame" (with
    `first`); `other` any other title as typed;
    `full` the given and family names in letter order (no title)."""

    gender: str | None
    courtesy: str  # the courtesy title as typed ("Ms", "Frau"), or ""
    academic: tuple[str, ...]
    honorific: str
    other: str
    first: str
    last: str
    full: str


def parse(text: str) -> Name | None:
    """The name in `text`, or None when there is none to greet (empty, an address,
    a title alone, no letters)."""
    text = " ".join(ANGLED.sub(" ", text).split())
    if "@" in text or not any(ch.isalpha() for ch in text):
        return None
    from nameparser import HumanName

    human = HumanName(text, constants=_constants())
    # "HR" in capitals is a department, "Hr." is Herr.
    titles = [_word(title) if title != "HR" else "" for title in human.title_list]
    human.capitalize()  # only a name typed all in lower or upper case: "McDonald" stays
    last = human.last or ""
    if not human.first and (not last or _word(last) in _constants().titles):
        return None
    suffixes = [_word(suffix) for suffix in human.suffix_list]
    return Name(
        gender=_gender(titles),
        courtesy=next((typed for typed, title in zip(human.title_list, titles, strict=True)
                       if title in FEMALE | MALE | NEUTRAL and title not in HONORIFICS), ""),
        academic=_academic(titles, suffixes),
        honorific=next((t.capitalize() for t in titles if t in HONORIFICS and human.first), ""),
        other=" ".join(t for t, w in zip(human.title_list, titles, strict=True)
                       if not _known(w)),
        first=human.first, last=last or human.first,
        full=_full(human, suffixes),
    )


def _word(text: str) -> str:
    return text.lower().rstrip(".,")


def _known(title: str) -> bool:
    return title and title in FEMALE | MALE | NEUTRAL | PROFESSOR | DOCTOR | HONORIFICS


def _gender(titles: list[str]) -> str | None:
    for title in titles:
        if title in FEMALE:
            return "f"
        if title in MALE:
            return "m"
        if title in NEUTRAL:
            return "x"
    return None


def _academic(titles: list[str], suffixes: list[str]) -> tuple[str, ...]:
    found = []
    if any(title in PROFESSOR for title in titles):
        found.append("Prof.")
    if any(title in DOCTOR for title in titles) or any(
            suffix.replace(".", "") in {s.replace(".", "") for s in DOCTOR_SUFFIXES}
            for suffix in suffixes):
        found.append("Dr.")
    return tuple(found)


def _full(human, suffixes: list[str]) -> str:
    """Given, middle and family names, and a generation (Jr., III) if any."""
    generation = [typed for typed, word in zip(human.suffix_list, suffixes, strict=True)
                  if word.rstrip(".") in {g.rstrip(".") for g in GENERATIONS}]
    parts = [human.first, human.middle, human.last, *generation]
    return " ".join(part for part in parts if part)


@cache
def _constants():
    """nameparser's vocabulary, plus a few titles of the drafts' languages (a copy:
    the library's module-wide one stays as it was)."""
    from nameparser.config import CONSTANTS

    constants = CONSTANTS.copy()
    constants.titles.add("dott", "doña", "dona", "don", "docteur", "doktor", "professeure",
                         "professorin", "profesora", "doctora", "signora", "sig.ra")
    return constants
