"""Request and response shapes shared by the REST API and the web UI; safe JSON input."""
