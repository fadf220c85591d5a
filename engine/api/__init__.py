"""The protocol's HTTP endpoints, one module per concern; handlers read ``request.app.state.engine``."""
