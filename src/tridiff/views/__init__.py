"""The views: matplotlib figures of f and its derivatives, honest at kinks."""
