"""Articles in formats existing tools read: CSAF 2.0 advisories, OVAL 5.11 definitions."""
