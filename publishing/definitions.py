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
from publishing.labels import label
from publishing.vocabularies import Vocabulary


@dataclass(frozen=True)
class Figure:
    """A headline figure: its key, its name everywhere, and what it counts."""

    key: str
    name: str
    definition: str


STOPS = "Stops"
NO_ENFORCEMENT = "Stops with no enforcement action"
NO_ENFORCEMENT_SHARE = "Share of stops with no enforcement action"
SEARCHES = "Searches"
HIT_RATE = "Searches that found contraband"
FORCE = "Uses of force"


def no_enforcement_words(outcomes: Vocabulary) -> str:
    """What a stop with no enforcement action ended with, in the outcome vocabulary's words
    ("no citation, summons, referral or arrest: a warning or nothing at all")."""
    return outcomes.group_words["no_enforcement"]


def figures(outcomes: Vocabulary, offences: Vocabulary) -> tuple[Figure, ...]:
    """The headline figures with their definitions, in the declared vocabularies' words."""
    crimes = offences.headline
    assert crimes is not None  # every offence vocabulary has a headline measure
    counted = ", ".join(label(code).lower() for code in crimes.codes)
    crime_note = f"; {crimes.note}" if crimes.note else ""
    return (
        Figure("stops", STOPS, "every stop the department recorded in the quarter"),
        Figure(
            "no_action",
            NO_ENFORCEMENT,
            f"stops that ended with {no_enforcement_words(outcomes)} and in which no "
            "contraband was found",
        ),
        Figure(
            "no_action_share",
            NO_ENFORCEMENT_SHARE,
            f"{NO_ENFORCEMENT.lower()} per 100 stops",
        ),
        Figure("searches", SEARCHES, "stops in which a person or a vehicle was searched"),
        Figure(
            "hit_rate",
            HIT_RATE,
            "searches that found contraband, per 100 searches",
        ),
        Figure(
            "crimes",
            f"{crimes.label} reported",
            f"reported {crimes.noun}: {counted}{crime_note}",
        ),
        Figure("force", FORCE, "each recorded use of force by an officer"),
    )


def headline_definitions(catalog: Catalog, period: str | None = None) -> tuple[Figure, ...]:
    """The headline figures as ``period``'s release defines them (the latest when None)."""
    return figures(
        catalog.vocabulary("outcome", period), catalog.vocabulary("offense_category", period)
    )
