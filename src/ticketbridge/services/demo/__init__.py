"""The demo installation: deterministic sample customers, jobs, runs and mails."""
