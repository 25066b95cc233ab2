"""The daemon: the loop that delivers nudges, and what keeps it honest.

- `loop`: the daemon's life (start, signals, reload, stop) and its event loop.
- `planner`: which nudges fall due when (from the store and `rules`), as jobs.
- `dispatch`: claims a due nudge, hands it to each channel, records each result.
- `pokes`, `wake`: the CLI tells a running daemon that something changed.
- `pickup`: changes made by other processes or machines (the change log).
- `owners`: which daemon (machine, boot, process) holds a delivery.
- `resume`: logind's "the machine woke up" signal.
- `sdnotify`: READY / WATCHDOG / STATUS to systemd.

May import: channels, sources (their interfaces), store, rules, content, config,
models, errors, clock. Never `app`: the use cases it needs are handed in.
"""
