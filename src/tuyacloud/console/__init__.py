"""The web console: server-rendered pages (Jinja2) on the same Starlette app, for people. See docs/console.md."""
