"""Accounts: users, roles, sign-up, sign-in, password reset and the secretariat's user admin."""
