"""The console's pages: thin handlers that read, call the store, and render a template."""
