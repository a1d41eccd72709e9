"""People: users and roles, sign-in sessions, login throttling and single sign-on."""
