"""The service desk (issue 16): mail of a service-desk mailbox becomes tickets and comments.

- `mailboxes`: a mail source's purpose, target connection, default routing, filters and rules.
- `intake`: the question mail intake asks of every mail it routes (is it the desk's?).
- `process`: one stored desk mail made into a ticket or a comment, at most once.
- `psa_calls`: the PSA calls of `process`, outside any transaction.
- `threads`: what a mailbox recorded, read for the conversation rules.
- `listing`: the desk's tickets, boards and categories as the API lists them.
- `requests`, `comments`: tickets and comments asked for through the API.
- `missing`: mails of the last days that made nothing (`ticketbridge mailbox check-missing`).

The rules themselves are core/service_desk; see docs/service-desk.md.
"""
