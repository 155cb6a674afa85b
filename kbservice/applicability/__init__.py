"""Which articles apply to a system: the candidate index over compiled rules."""
