"""The installation itself: the audit trail, settings kept in the database, backups, the
heartbeat, log context and the gauges read at scrape time."""
