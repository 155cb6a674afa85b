"""Flask and WSGI glue shared by api and web: app state, problems, JSON, logs, server."""
