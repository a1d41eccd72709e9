"""Mail sources: modules that fetch raw mail (IMAP, Microsoft Graph, SMTP, .eml files).

Storing and parsing happen in `services/ingest.py`; see `base.py` for the contract.
"""
