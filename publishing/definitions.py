"""One name and one definition for each figure the site, the API, open data and the report
all quote, so that a journalist who quotes one surface is not contradicted by another.

Every surface takes a figure's name from here (the home page, the report, the charts that
plot it, the focus-area evaluation) and the data dictionary and methodology page print the
definitions. Words that depend on the department's declared vocabularies (what counts as
no enforcement, which crimes the headline counts) come from those vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass

from publishing.catalog import Catalog
from publishing.i18n import N_, _
from publishing.labels import label
from publishing.vocabularies import Vocabulary


@dataclass(frozen=True)
class Figure:
    """A headline figure: its key, its name everywhere, and what it counts."""

    key: str
    name: str
    definition: str


# Names marked for translation; shown through gettext (``_(NO_ENFORCEMENT)``).
STOPS = N_("Stops")
NO_ENFORCEMENT = N_("Stops with no enforcement action")
NO_ENFORCEMENT_SHARE = N_("Share of stops with no enforcement action")
SEARCHES = N_("Searches")
HIT_RATE = N_("Searches that found contraband")
FORCE = N_("Uses of force")


def no_enforcement_words(outcomes: Vocabulary) -> str:
    """What a stop with no enforcement action ended with, in the outcome vocabulary's words
    ("no citation, summons, referral or arrest: a warning or nothing at all")."""
    return outcomes.group_words["no_enforcement"]


def figures(outcomes: Vocabulary, offences: Vocabulary) -> tuple[Figure, ...]:
    """The headline figures with their definitions, in the declared vocabularies' words."""
    crimes = offences.headline
    assert crimes is not None  # every offence vocabulary has a headline measure
    counted = ", ".join(label(code).lower() for code in crimes.codes)
    crime_note = f"; {_(crimes.note)}" if crimes.note else ""
    return (
        Figure("stops", _(STOPS), _("every stop the department recorded in the quarter")),
        Figure(
            "no_action",
            _(NO_ENFORCEMENT),
            _("stops that ended with {ended} and in which no contraband was found").format(
                ended=_(no_enforcement_words(outcomes))
            ),
        ),
        Figure(
            "no_action_share",
            _(NO_ENFORCEMENT_SHARE),
            _("{figure} per 100 stops").format(figure=_(NO_ENFORCEMENT).lower()),
        ),
        Figure("searches", _(SEARCHES), _("stops in which a person or a vehicle was searched")),
        Figure(
            "hit_rate",
            _(HIT_RATE),
            _("searches that found contraband, per 100 searches"),
        ),
        Figure(
            "crimes",
            _("{crimes} reported").format(crimes=_(crimes.label)),
            _("reported {noun}: {counted}").format(noun=_(crimes.noun), counted=counted)
            + crime_note,
        ),
        Figure("force", _(FORCE), _("each recorded use of force by an officer")),
    )


def headline_definitions(catalog: Catalog, period: str | None = None) -> tuple[Figure, ...]:
    """The headline figures as ``period``'s release defines them (the latest when None)."""
    return figures(
        catalog.vocabulary("outcome", period), catalog.vocabulary("offense_category", period)
    )
