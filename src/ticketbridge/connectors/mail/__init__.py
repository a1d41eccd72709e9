"""Mail sources: modules that fetch raw mail (IMAP, Microsoft Graph, SMTP, .eml files).

Storing and parsing happen in `services/ingest.py`; see `base.py` for the contract. Outbound
mail (the service desk's notifications) goes through a `sender.MailSender`: `smtp_relay.py`,
`graph_send.py`.
"""
