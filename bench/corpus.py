"""The labelled corpora of real mail and real calendars: how followup fares on them.

    python bench/corpus.py

Prints, for mail: messages, wrong replies (goal 0), bounces told (of those a
careful person would tell), human replies missed (goal 0), tracebacks (goal 0),
and how many messages were classified as labelled; for calendars: calendars,
imports as labelled (exit 0 or 1), unclean answers (more than one line, a
warning, a traceback: goal 0), interviews found against the labels. The corpora
and their labels are in tests/data/mail/ and tests/data/calendars/corpus/
(README.md there names the sources).
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import calendar_corpus
from support.mail_corpus import decide_file, labels


def calendars() -> int:
    import tempfile

    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        for label in calendar_corpus.labels():
            counts["calendars"] += 1
            try:
                outcome = calendar_corpus.import_file(label.file, Path(folder))
            except Exception:
                counts["tracebacks"] += 1
                traceback.print_exc()
                continue
            counts["as labelled"] += outcome.exit == label.exit
            counts["unclean"] += ("Traceback" in outcome.err or "Warning" in outcome.err
                                  or outcome.err.count("\n") > (outcome.exit == 1))
            counts["interviews"] += outcome.interviews
            counts["interviews labelled"] += label.interviews
            counts["events read"] += outcome.read
    print(f"calendars:              {counts['calendars']}")
    print(f"imports as labelled:    {counts['as labelled']}")
    print(f"unclean answers:        {counts['unclean']} (goal 0)")
    print(f"tracebacks:             {counts['tracebacks']} (goal 0)")
    print(f"interviews found:       {counts['interviews']} (labelled "
          f"{counts['interviews labelled']})")
    print(f"events read (broad):    {counts['events read']}")
    return int(counts["unclean"] + counts["tracebacks"] > 0
               or counts["as labelled"] < counts["calendars"]
               or counts["interviews"] != counts["interviews labelled"])


def main() -> int:
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    for label in labels():
        counts["messages"] += 1
        try:
            outcome = decide_file(label.file)
        except Exception:
            counts["tracebacks"] += 1
            traceback.print_exc()
            continue
        if outcome.found == "reply" and label.kind != "reply":
            counts["wrong replies"] += 1
            wrong.append(f"wrong reply: {label.file}")
        if label.kind == "reply" and outcome.found != "reply":
            counts["human replies missed"] += 1
            wrong.append(f"missed reply: {label.file} ({outcome})")
        if label.kind == "bounce":
            counts["bounces"] += 1
            counts["bounces to tell"] += label.told
            counts["bounces told"] += label.told and outcome.told
        counts["classified as labelled"] += outcome.kind == label.kind
        counts["unreadable"] += outcome.kind == "unreadable"
    for line in wrong:
        print(line)
    print(f"messages:               {counts['messages']}")
    print(f"wrong replies:          {counts['wrong replies']} (goal 0)")
    print(f"bounces told:           {counts['bounces told']} of {counts['bounces to tell']} "
          f"to tell ({counts['bounces']} bounces)")
    print(f"human replies missed:   {counts['human replies missed']} (goal 0)")
    print(f"tracebacks:             {counts['tracebacks']} (goal 0)")
    print(f"classified as labelled: {counts['classified as labelled']}")
    print(f"unreadable:             {counts['unreadable']}")
    bad = counts["wrong replies"] + counts["human replies missed"] + counts["tracebacks"]
    failed = bad or counts["bounces told"] < counts["bounces to tell"]
    return 1 if calendars() or failed else 0


if __name__ == "__main__":
    sys.exit(main())
