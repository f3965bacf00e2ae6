"""The site's HTML pages, one module per area."""
