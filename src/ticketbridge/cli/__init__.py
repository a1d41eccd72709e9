"""Typer commands: `ticketbridge ...` and `python -m ticketbridge ...`."""
