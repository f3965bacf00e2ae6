"""Every decision the release engine makes about what to publish, and what it depends on.

Differential privacy holds only if no decision about whether, what or how to publish
depends on the records, unless that decision is itself charged to the budget. This list is
shown on the methodology page; each entry has a test that makes the decision on two
neighbouring data sets (one record or one person apart) and finds it the same
(``tests/test_release_promises.py``; ``tests/test_methodology.py`` checks that every entry
has one).
"""

from __future__ import annotations

from dataclasses import dataclass

from publishing.i18n import N_


@dataclass(frozen=True)
class Decision:
    """One decision and what it depends on, in words."""

    key: str
    decision: str
    depends_on: str


DECISIONS: tuple[Decision, ...] = (
    Decision(
        "whether",
        N_("Whether a quarter is released"),
        N_(
            "The calendar (a quarter is released once it has ended), the declared areas (none "
            "declared, no release) and the budget ledger: what earlier releases spent of the "
            "quarter's cap, and whether the quarter was already released under the same policy. "
            "Never the records: a quarter with no records is released like any other, as noisy "
            "zeros, and spends the same budget."
        ),
    ),
    Decision(
        "what",
        N_("Which cells are published"),
        N_(
            "The policy's tables, the department profile and the declared areas and codes: "
            "every combination is a cell, empty or not. A table over records or a field the "
            "profile says the department does not record is not published; a code it says "
            "cannot occur is published as a zero without noise; with no beats declared, a table "
            "by beat is published by district. Records in areas or with codes that are not "
            "declared are counted under “Not recorded”, never dropped."
        ),
    ),
    Decision(
        "noise",
        N_("How much noise each table gets, and what it costs"),
        N_(
            "The policy's budget and weights, and the most one unit can change a table (one "
            "record changes one count by one; a person, at most the policy's bounds). Never the "
            "counts."
        ),
    ),
    Decision(
        "post-processing",
        N_("How the noisy numbers are made consistent, rounded and given intervals"),
        N_(
            "The noisy numbers only, and the shape of the release (its tables, areas and "
            "noise), from which the intervals' error distribution is simulated without any "
            "record."
        ),
    ),
    Decision(
        "bounding",
        N_("Which of a person's records are counted (person unit only)"),
        N_(
            "The records themselves: at most the policy's number of records of one person in a "
            "cell, and cells of a table. This is part of the measurement, not a decision about "
            "publishing: the noise is scaled to the most that one person can change the counts "
            "after it."
        ),
    ),
)
