"""In-app notifications with an unread count, and their emails (each kind can be turned off)."""
