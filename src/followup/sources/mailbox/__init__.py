"""The mailbox source: replies stop nudges, follow-ups found in Sent are counted.

- `messages`: reading raw header fields into a message, leniently (pure).
- `kinds`: what kind of mail a message is: bounce, auto-reply, automatic,
  a person's (pure).
- `replies`: pure decisions: parsed messages in, findings out (no I/O).
- `lists`: the data the decisions use (mail providers, tracking systems,
  out-of-office subjects, bounce senders and subjects).
- `imap`: the connection (imapclient): EXAMINE, header fields only.
- `watch`: one pass over the folders, and the daemon's watch (IDLE or poll).
- `returns` (pure) and `away`: an employer's out-of-office reply's return date,
  from its subject or the first 8 KB of its text (the one read beyond headers).
- `drafts` (pure), `drafts_folder` and `tidy`: drafts in the mail client
  (`[mailbox] drafts`): the message, which drafts are no longer wanted, the
  Drafts folder over IMAP (the one write), and the daemon's clean-up.

May import: sources.base, models, rules, inputs, errors, clock. Never `app` or `store`:
findings are applied by the use cases the daemon hands in.
"""
