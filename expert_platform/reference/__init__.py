"""Reference data: member states, observer states and observer organisations."""
