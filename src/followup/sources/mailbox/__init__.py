"""The mailbox source: replies stop nudges, follow-ups found in Sent are counted.

- `replies`: pure decisions: a parsed message in, findings out (no I/O).
- `lists`: the data the decisions use (mail providers, tracking systems,
  out-of-office subjects).
- `imap`: the connection (imapclient): EXAMINE, header fields only.
- `watch`: one pass over the folders, and the daemon's watch (IDLE or poll).

May import: sources.base, models, inputs, errors, clock. Never `app` or `store`:
findings are applied by the use cases the daemon hands in.
"""
