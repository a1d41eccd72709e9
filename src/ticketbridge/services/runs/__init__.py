"""Runs: ingest (API, import, demo), the run models, the Run Checks queue and review, the
Dashboard and Daily Jobs, expected runs (schedules) and the customer/job catalog."""
