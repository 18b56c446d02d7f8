"""The expert council: one delegation per member state, a head and alternates in each."""
