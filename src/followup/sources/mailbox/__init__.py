"""The mailbox source: replies stop nudges, follow-ups found in Sent are counted.

- `messages`: reading raw header fields into a message, leniently (pure).
- `kinds`: what kind of mail a message is: bounce, auto-reply, automatic,
  a person's (pure).
- `replies`: pure decisions: parsed messages in, findings out (no I/O).
- `lists`: the data the decisions use (mail providers, tracking systems,
  out-of-office subjects, bounce senders and subjects).
- `imap`: the connection (imapclient): EXAMINE, header fields only.
- `watch`: one pass over the folders, and the daemon's watch (IDLE or poll).

May import: sources.base, models, inputs, errors, clock. Never `app` or `store`:
findings are applied by the use cases the daemon hands in.
"""
