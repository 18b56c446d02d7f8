"""The secretariat's own pages: dashboard, audit trail, membership reference data."""
