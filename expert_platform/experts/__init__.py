"""Expert profiles and the expert directory."""
