"""The web application: see `web.app.create_app`."""
