"""The PSA connection: its settings (secrets write-only), Test/Refresh/Validate, reference data,
and the mapping of customers to the PSA's companies."""
