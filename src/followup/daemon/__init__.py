"""The daemon: the loop that delivers nudges, and what keeps it honest.

- `loop`: wires the pieces below and runs them (start, reload, stop).
- `lifecycle`: signals set flags; READY / STATUS / STOPPING and the watchdog.
- `planner`: which nudges fall due when (from the store and `rules`): the scans;
  `schedule`: the jobs they keep, one per nudge and per delivery to retry;
  `rescans`: the periodic rescan's timer.
- `handover`: gathers what falls due into dispatches (a digest).
- `dispatch`: claims a due nudge, hands it to each channel, records each result;
  `retries`: after a failure, when to try again or give up (`followup.backoff`);
  `work`: the items handed around (a due nudge, a retry, one channel's job).
- `sourcing`: runs the sources (mailbox, calendar) and what they call back.
- `presence`: who this daemon is among the daemons of its database, its heartbeat.
- `pokes`, `wake`: the CLI tells a running daemon that something changed.
- `pickup`: changes made by other processes or machines (the change log).
- `owners`: which daemon (machine, boot, process) holds a delivery.
- `resume`: logind's "the machine woke up" signal.
- `sdnotify`: READY / WATCHDOG / STATUS to systemd.

May import: channels, sources (their interfaces), store, rules, content, config, backoff,
models, errors, clock. Never `app`: the use cases it needs are handed in.
"""
