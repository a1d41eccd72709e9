"""Backup report parsers: one module per product, tried in the order of registry.PARSERS."""
