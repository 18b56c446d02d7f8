"""The council's review of proposals: rapporteurs, reviews, discussion and consensus rounds."""
