"""Mail intake: sources (IMAP, Microsoft 365, SMTP), polling and IDLE, storing raw mail first,
batches, routing mails to runs by rules, and the Inbox."""
