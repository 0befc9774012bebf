"""The analysis: where a derivative does not exist, and why (switches, one-sided limits, reason codes)."""
