"""The web workspace: a page the engine serves, one more client of its own HTTP API.

``page`` renders the HTML (server-side, escaped, in the browser's language) and serves the
static script and style; the script (``static/workspace.js``) speaks the protocol's
endpoints with the bearer token in a header, exactly as the CLI's client does.
"""
