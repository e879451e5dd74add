"""ptree's web side: the Flask app, its Socket.IO handlers, the session registry and the CLI."""
