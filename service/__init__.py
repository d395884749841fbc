"""The HTTP service (Flask app factory). Arrives with the service issue."""
