"""Load-test kit for the ranking endpoint: an open-loop generator, scenarios and reports."""
