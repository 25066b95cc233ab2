"""Build tests/data/mail/ from public fixture sets: only each message's header block.

    python bench/corpus_build.py MIRROR_DIR...

Each MIRROR_DIR is a git directory (`git archive`-able) of one of the sources
named in SOURCES; the header block of every message file (up to the first
empty line) is written to tests/data/mail/SOURCE/NAME.eml. Bodies are left out:
the mailbox watch reads header fields only. The labels are kept by hand in
tests/data/mail/labels.tsv.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "mail"

# repository -> (short name, which files hold messages)
SOURCES = {
    "sisimai/set-of-emails": ("sisimai", re.compile(r"^maildir/(bsd|not)/.*\.eml$")),
    "mailgun/flanker": ("flanker", re.compile(
        r"^tests/fixtures/messages/(?!dkim/|attachments/).*\.eml$")),
    "mailgun/talon": ("talon", re.compile(r"^tests/fixtures/(standard_replies/)?[^/]*\.eml$")),
    "SpamScope/mail-parser": ("mailparser", re.compile(r"^tests/mails/mail_")),
}


def header_block(data: bytes) -> bytes:
    data = data.replace(b"\r\n", b"\n")
    if data.startswith(b"From "):  # an mbox separator line
        data = data.split(b"\n", 1)[1]
    end = data.find(b"\n\n")
    return (data if end < 0 else data[:end]).rstrip(b"\n") + b"\n"


def build(git_dir: Path) -> None:
    remote = git_dir.parent.name.replace("+", "/", 1)
    short, pattern = SOURCES[remote]
    names = subprocess.run(["git", "-C", str(git_dir), "ls-tree", "-r", "--name-only", "HEAD"],
                           check=True, capture_output=True, text=True).stdout.split()
    target = OUT / short
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not pattern.match(name):
            continue
        shown = subprocess.run(["git", "-C", str(git_dir), "show", f"HEAD:{name}"],
                               capture_output=True)
        if shown.returncode != 0:
            print(f"skipped {remote}:{name}: not stored", file=sys.stderr)
            continue
        flat = name.replace("tests/fixtures/", "").replace("maildir/", "").replace("/", "-")
        flat = flat if flat.endswith(".eml") else flat + ".eml"
        (target / flat).write_bytes(header_block(shown.stdout))


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        build(Path(argument))
