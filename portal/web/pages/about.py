"""The methodology page: what differential privacy promises here and what it does not, the
unit, the budget spent so far, every decision the engine makes and what it depends on,
what an interval means, what post-processing changes, and the analyses' methods."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing.analysis.concentration import TOP
from publishing.analysis.windows import WINDOW_MONTHS
from publishing.audits import AuditInfo, latest_audits
from publishing.catalog import Catalog
from publishing.decisions import DECISIONS
from publishing.definitions import headline_definitions
from publishing.i18n import _, language, long_date, significant
from publishing.labels import label
from publishing.opendata import SOURCE_NOUNS
from publishing.profile import SOURCES, DepartmentProfile, SourceProfile
from publishing.statement import CENSUS_2020, UNIT_SHORT, BudgetStatement, odds_of, plain_words

HTML = "text/html"


def _sections(template: Path) -> tuple[tuple[str, str], ...]:
    """Each ``<h2 id="...">`` of a page's template, as (anchor, heading): its contents,
    read from the template itself so that it cannot fall behind it."""
    return tuple(re.findall(r'<h2 id="([^"]+)">(.*?)</h2>', template.read_text()))


# The methodology's text in each language: its own template, the same sections and ids.
METHODOLOGY_TEMPLATES = {"en": "methodology_body.html", "es": "methodology_body.es.html"}
METHODOLOGY_CONTENTS = {
    code: _sections(Path(__file__).parents[1] / "templates" / name)
    for code, name in METHODOLOGY_TEMPLATES.items()
}


@dataclass(frozen=True)
class PeriodBudget:
    """What a quarter's releases have spent, in the quarter's own currency."""

    period: str
    releases: int
    currency: str
    spent: float
    cap: float
    guarantee: str  # (epsilon, delta) of everything released about the quarter


def budget_by_period(catalog: Catalog) -> list[PeriodBudget]:
    """Spent and available budget per quarter, from the releases' own statements (the
    latest release of a quarter states what every release of it has spent)."""
    rows = []
    for period in catalog.periods:
        releases = [r for r in catalog.releases if r.period == period]
        latest = releases[-1].statement
        odds = odds_of(latest)
        rows.append(
            PeriodBudget(
                period,
                len(releases),
                latest.currency_words,
                latest.period_spent,
                latest.period_cap,
                f"({significant(odds.epsilon)}, {odds.delta:g})" if odds else _("not stated"),
            )
        )
    return rows


@dataclass(frozen=True)
class ProfileRow:
    """One source of the department profile, as the methodology page lists it."""

    source: str
    window: str
    fields: tuple[str, ...]  # "Outcome: None, Summons, Arrest"


def profile_rows(profile: DepartmentProfile | None) -> list[ProfileRow]:
    """The department profile's sources in words: the days covered, each recorded field
    with the vocabulary it is coded in (where the department declares one other than the
    default) and the codes that can occur in it."""
    if profile is None:
        return []
    rows = []
    for source in SOURCES:
        if source not in profile.sources:
            rows.append(ProfileRow(_(SOURCE_NOUNS[source]), _("not published"), ()))
            continue
        declared = profile.sources[source]
        window = (
            _("{first} to {last}").format(
                first=long_date(declared.window[0]), last=long_date(declared.window[1])
            )
            if declared.window
            else _("not declared")
        )
        fields = tuple(
            f"{label(name)}"
            + _coded_as(declared, name)
            + ": "
            + (_("any code") if codes is None else ", ".join(label(c) for c in codes))
            for name, codes in sorted(declared.fields.items())
        )
        rows.append(ProfileRow(_(SOURCE_NOUNS[source]), window, fields))
    return rows


def _coded_as(declared: SourceProfile, name: str) -> str:
    """ ", coded as NIBRS Group A offence categories" for a field the department declares in
    a vocabulary other than the default."""
    vocabulary = declared.vocabulary(name) if name in declared.vocabularies else None
    return _(", coded as {vocabulary}").format(vocabulary=vocabulary.title) if vocabulary else ""


@get("/methodology", sync_to_thread=False)
def methodology(
    request: Request[Any, Any, Any],
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """How the numbers are made, in plain words."""

    def render(catalog: Catalog) -> CachedBody:
        latest: BudgetStatement | None = None
        period, audits = "", tuple[AuditInfo, ...]()
        if catalog.periods:
            period = catalog.periods[-1]
            current = catalog.current[period]
            latest = current.statement
            audits = latest_audits(catalog.audits, current.policy_sha256)
        code = language()
        body = site.renderer.fragment(
            METHODOLOGY_TEMPLATES[code],
            latest=latest,
            period=period,
            unit_short=_(UNIT_SHORT[latest.unit_kind if latest else "record"]),
            promise=plain_words(latest, period) if latest else (),
            odds=odds_of(latest) if latest else None,
            census=CENSUS_2020,
            audits=audits,
            budget=budget_by_period(catalog),
            decisions=DECISIONS,
            window_months=WINDOW_MONTHS,
            top=TOP,
            profile=catalog.profile,
            profile_rows=profile_rows(catalog.profile),
            figures=headline_definitions(catalog) if catalog.periods else (),
            toc=METHODOLOGY_CONTENTS[code],
        )
        return CachedBody.of(
            site.renderer.page(
                "methodology.html", title=_("Methodology"), active="/methodology", body=body
            ),
            HTML,
        )

    return site.cached("methodology", render).respond(request)
