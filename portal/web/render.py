"""Pages rendered from Jinja templates, once per catalog version (see :mod:`state`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from portal.web.static import StaticFiles
from publishing.charts import signed
from publishing.periods import day_words, quarter_words

TEMPLATES = Path(__file__).resolve().parent / "templates"
SITE_NAME = "Police Transparency Portal"
NAV = (
    ("/", "Home"),
    ("/stops", "Stops"),
    ("/crime", "Crime"),
    ("/force", "Use of force"),
    ("/districts", "Districts"),
    ("/focus-areas", "Focus areas"),
    ("/releases", "Releases"),
    ("/reports", "Reports"),
    ("/methodology", "Methodology"),
)


class Renderer:
    """The site's templates, with what every page needs."""

    def __init__(self, static_files: StaticFiles) -> None:
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals.update(static_url=static_files.url, nav=NAV, site_name=SITE_NAME)
        self.environment.filters["signed"] = signed
        self.environment.filters["quarter_words"] = quarter_words
        self.environment.filters["day_words"] = day_words

    def page(self, template: str, *, title: str, active: str = "", **context: Any) -> str:
        """A whole page."""
        context.setdefault("charts", [])
        return self.environment.get_template(template).render(title=title, active=active, **context)
