"""The web app (``detente serve``): a page and a JSON API over the same functions as the CLI."""
