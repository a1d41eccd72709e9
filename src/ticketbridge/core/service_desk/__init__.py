"""The service desk's rules (issue 16): a mailbox whose mail becomes tickets. Pure; no I/O.

- `mail`: `DeskMail`, a received mail as the rules read it, and Message-ID normalising.
- `filters`: which mail may become a ticket, and the reason shown when not.
- `conversations`: new ticket or comment on which ticket, and why.
- `subjects`: reply prefixes, ticket keys in subjects, the guard on key patterns.
- `routing`: board, category and labels by rule; validation of a rule set.
- `drafts`: a mail as a ticket or a comment, in neutral terms; quoted history trimmed.
- `notifications`: the mail that tells a sender their ticket's key.
- `missing`: which recent mails made neither a ticket nor a comment.

See docs/service-desk.md.
"""
