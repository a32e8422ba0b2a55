"""Console pages: every module here exporting ``routes(deps) -> list[BaseRoute]`` is mounted under /console."""
