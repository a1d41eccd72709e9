"""ticketbridge: backup and monitoring signals to PSA tickets, exactly once."""

__version__ = "0.1.0"
