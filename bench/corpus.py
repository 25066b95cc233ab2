"""The labelled corpus of real mail: how the mailbox decisions fare on it.

    python bench/corpus.py

Prints: messages, wrong replies (goal 0), bounces told (of those a careful person
would tell), human replies missed (goal 0), tracebacks (goal 0), and how many
messages were classified as labelled. The corpus and its labels are in
tests/data/mail/ (README.md there names the sources).
"""

from __future__ import annotations

import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.mail_corpus import decide_file, labels


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
    return 1 if bad or counts["bounces told"] < counts["bounces to tell"] else 0


if __name__ == "__main__":
    sys.exit(main())
