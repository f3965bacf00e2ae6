"""Pages rendered from Jinja templates, once per catalog version (see :mod:`state`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from portal.web.language import in_language, this_page_in
from portal.web.static import StaticFiles
from publishing.charts import signed
from publishing.i18n import (
    LANGUAGE_NAMES,
    LANGUAGE_WORDS,
    LANGUAGES,
    N_,
    gettext,
    language,
    ngettext,
    number,
    significant,
)
from publishing.periods import day_words, quarter_words

TEMPLATES = Path(__file__).resolve().parent / "templates"
SITE_NAME = N_("Police Transparency Portal")
NAV = (
    ("/", N_("Home")),
    ("/stops", N_("Stops")),
    ("/crime", N_("Crime")),
    ("/force", N_("Use of force")),
    ("/districts", N_("Districts")),
    ("/focus-areas", N_("Focus areas")),
    ("/releases", N_("Releases")),
    ("/reports", N_("Reports")),
    ("/methodology", N_("Methodology")),
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
            extensions=["jinja2.ext.i18n"],
        )
        # Messages are looked up when a page is rendered, in the language being spoken.
        self.environment.install_gettext_callables(  # type: ignore[attr-defined]
            gettext, ngettext, newstyle=True
        )
        self.environment.globals.update(
            static_url=static_files.url,
            nav=NAV,
            site_name=SITE_NAME,
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            language_words=LANGUAGE_WORDS,
            this_page_in=this_page_in,
            current_language=language,
        )
        self.environment.filters["link"] = in_language
        self.environment.filters["number"] = number
        self.environment.filters["significant"] = significant
        self.environment.filters["code"] = lambda text: Markup("<code>{}</code>").format(text)
        self.environment.filters["signed"] = signed
        self.environment.filters["quarter_words"] = quarter_words
        self.environment.filters["day_words"] = day_words

    def fragment(self, template: str, **context: Any) -> Markup:
        """Part of a page, rendered on its own (set in a page with ``{{ body }}``)."""
        return Markup(self.environment.get_template(template).render(**context))

    def page(self, template: str, *, title: str, active: str = "", **context: Any) -> str:
        """A whole page."""
        context.setdefault("charts", [])
        return self.environment.get_template(template).render(
            title=title, active=active, lang=language(), **context
        )
