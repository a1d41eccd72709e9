"""RMM alerts from mails carrying ATES tokens (docs/alerts.md).

intake (a token becomes an alert, database only), correlate (customer, device, open ticket;
the periodic job), ticketing (create exactly once, join, ignore), notes (repeats noted on the
ticket), actions (an operator's click), explain (the correlation explainer), sources (admin:
sources and customer mappings), content (what a ticket is made of), store (the rows).
"""
