"""API tokens and the roles they carry."""
