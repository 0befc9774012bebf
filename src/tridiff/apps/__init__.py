"""The applications: the command line and the lab report."""
