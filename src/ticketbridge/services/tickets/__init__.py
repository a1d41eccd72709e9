"""Tickets on runs: create (reservation, preview, draft), link, open, resolve, deleted
detection, duplicates and recovery of unsettled creates; ``ticketing`` is the entry point the web
layer calls."""
