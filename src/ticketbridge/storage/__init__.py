"""Tables, named queries, secret encryption and migrations."""
