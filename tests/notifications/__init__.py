"""Tests of the notification centre, the email settings and the events that notify."""
