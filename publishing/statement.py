"""A release's budget statement as every public surface reads it, and what it means.

The release engine writes the statement as JSON with the release. This is its one typed
reading (releases made before budgets were counted in their policy's currency carry
``period_rho_cap`` instead of ``period_cap``; they were all counted in rho). The plain-words
reading of epsilon as odds lives here too, so the site and the report say the same thing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from publishing.i18n import N_, _, number, significant
from publishing.vocabularies import Vocabulary, declared

# Greek letters are the field's own notation, as on the methodology page.
CURRENCY_WORDS = {"rho": N_("zCDP ρ"), "epsilon": N_("pure-DP ε")}  # noqa: RUF001
# Words the engine writes into every release's statement, marked so that a page can show
# them in the reader's language (the release keeps them as written).
STATEMENT_WORDS = (
    N_("gaussian"),
    N_("laplace"),
    N_(
        "one record (a stop, an incident or a use of force); a person with several records "
        "is protected less, since the loss of each of their records adds up"
    ),
)
SOURCE_WORDS = {"stops": N_("stops"), "incidents": N_("incidents"), "force": N_("uses of force")}


@dataclass(frozen=True)
class BudgetStatement:
    """What a release spent, what its quarter (and a person unit's horizon) spent in all,
    and the guarantee that follows, as published with the release."""

    unit: str
    unit_kind: str  # "record" or "person"
    mechanism: str  # "gaussian" (zCDP) or "laplace" (pure DP)
    currency: str  # what the policy counts in: "rho" or "epsilon"
    spent: float  # by this release, in ``currency``
    rho: float  # this release's zCDP cost
    epsilon: float  # this release's epsilon at ``delta`` (pure DP: its epsilon)
    delta: float
    period_currency: str
    period_cap: float
    period_spent: float  # by every release of the quarter so far, this one included
    period_epsilon: float | None  # that total as epsilon at ``delta``
    horizon: str | None
    horizon_cap: float | None
    horizon_spent: float | None
    words: str
    # What the department profile decided: the tables withheld and why, each source's
    # declared coverage of the quarter (first and last day), whether it is partial.
    withheld: tuple[tuple[str, str], ...] = ()
    coverage: tuple[tuple[str, str, str], ...] = ()  # (source, first day, last day)
    partial: bool = False
    # The vocabulary each coded field was counted in (field -> shipped vocabulary name).
    vocabularies: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, raw: dict[str, Any]) -> BudgetStatement:
        """Read a stored statement, old or new."""
        currency = str(raw.get("currency", "rho"))
        spent = float(raw.get("spent", raw["rho"] if currency == "rho" else raw["epsilon"]))
        optional = {key: raw.get(key) for key in ("horizon", "horizon_cap", "horizon_spent")}
        unit = str(raw.get("unit", "one record (a stop, an incident or a use of force)"))
        return cls(
            unit=unit,
            unit_kind=str(raw.get("unit_kind", "person" if "person" in unit else "record")),
            mechanism=str(raw.get("mechanism", "gaussian")),
            currency=currency,
            spent=spent,
            rho=float(raw["rho"]),
            epsilon=float(raw["epsilon"]),
            delta=float(raw["delta"]),
            period_currency=str(raw.get("period_currency", currency)),
            period_cap=float(raw.get("period_cap", raw.get("period_rho_cap", 0.0))),
            period_spent=float(raw.get("period_spent", raw.get("period_rho_spent", spent))),
            period_epsilon=_float(raw.get("period_epsilon")),
            horizon=None if optional["horizon"] is None else str(optional["horizon"]),
            horizon_cap=_float(optional["horizon_cap"]),
            horizon_spent=_float(optional["horizon_spent"]),
            words=str(raw.get("words", "")),
            withheld=tuple((str(w["table"]), str(w["why"])) for w in raw.get("withheld", [])),
            coverage=tuple(
                (str(source), str(days[0]), str(days[1]))
                for source, days in dict(raw.get("coverage", {})).items()
            ),
            partial=bool(raw.get("partial", False)),
            vocabularies=tuple(
                (str(k), str(v)) for k, v in dict(raw.get("vocabularies", {})).items()
            ),
        )

    def vocabulary(self, field_name: str) -> Vocabulary | None:
        """The vocabulary the release counts ``field_name`` in (a release written before
        vocabularies were declared used the defaults)."""
        return declared(field_name, dict(self.vocabularies).get(field_name))

    @property
    def currency_words(self) -> str:
        """The period's currency as people read it (see ``CURRENCY_WORDS``)."""
        return CURRENCY_WORDS.get(self.period_currency, self.period_currency)

    @property
    def not_published(self) -> tuple[str, ...]:
        """Why tables were withheld, each reason once ("this department does not record
        search_conducted on stops"), as the release stored it."""
        return tuple(dict.fromkeys(why for _, why in self.withheld))

    def not_published_words(self) -> tuple[str, ...]:
        """:attr:`not_published` in the language being spoken."""
        return tuple(reason_words(why) for why in self.not_published)

    def coverage_words(self) -> str:
        """The quarter's coverage in words, for a partial quarter ("" otherwise)."""
        if not self.partial:
            return ""
        return "; ".join(
            _("{source} data from {first} to {last}").format(
                source=_(SOURCE_WORDS.get(source, source)), first=first, last=last
            )
            for source, first, last in self.coverage
        )

    @property
    def pure(self) -> bool:
        """Whether the guarantee is pure differential privacy (delta = 0)."""
        return self.mechanism == "laplace"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class OddsReading:
    """Epsilon read as odds: how far the published numbers can move anyone's belief that a
    given unit is in the data."""

    epsilon: float
    delta: float
    factor: float  # e^epsilon: the most the odds can be multiplied (or divided) by
    from_even: float  # an even chance (50%) can become at most this probability

    @classmethod
    def of(cls, epsilon: float, delta: float) -> OddsReading:
        """The reading of (epsilon, delta)-differential privacy."""
        factor = math.exp(epsilon)
        return cls(epsilon, delta, factor, factor / (1.0 + factor))


def odds_of(statement: BudgetStatement) -> OddsReading | None:
    """The odds reading of everything released about the statement's quarter so far, or
    None for a release made before the quarter's total epsilon was stated."""
    if statement.period_epsilon is None:
        return None
    delta = 0.0 if statement.pure else statement.delta
    return OddsReading.of(statement.period_epsilon, delta)


@dataclass(frozen=True)
class DeployedSystem:
    """A deployed differentially private release, for comparison, as its publisher states
    its budget."""

    name: str
    unit: str
    rho: float
    epsilon: float
    delta: float


# The Census Bureau's production setting for the 2020 redistricting data's person file
# (June 2021): zCDP rho 2.56, which it states as epsilon 17.14 at delta 1e-10.
CENSUS_2020 = DeployedSystem(
    N_("the 2020 US Census redistricting data (P.L. 94-171), released once"),
    N_("one person"),
    rho=2.56,
    epsilon=17.14,
    delta=1e-10,
)


UNIT_SHORT = {"record": N_("stop, crime report or use of force"), "person": N_("person")}


def plain_words(statement: BudgetStatement, period: str) -> tuple[str, ...]:
    """What the guarantee of everything released about ``period`` does and does not
    promise, in sentences a resident can read (the methodology page and the report), in
    the language being spoken."""
    unit = _(UNIT_SHORT.get(statement.unit_kind, N_("unit")))
    odds = odds_of(statement)
    sentences = []
    if odds is not None:
        guarantee = f"({significant(odds.epsilon)}, {odds.delta:g})"
        exception = (
            _("with no exception")
            if odds.delta == 0
            else _("outside a chance of {delta}").format(delta=f"{odds.delta:g}")
        )
        sentences += [
            _(
                "Everything published about {period} so far is {guarantee}-differentially "
                "private for {unit}."
            ).format(period=period, guarantee=guarantee, unit=_(statement.unit)),
            _(
                "Read as odds: whatever anyone believed beforehand about whether a given {unit} "
                "is in the data, the published numbers can multiply or divide those odds by at "
                "most e^{epsilon}, about {factor}, {exception}. Someone who thought it an even "
                "chance could end up at most {from_even}% sure."
            ).format(
                unit=unit,
                epsilon=significant(odds.epsilon),
                factor=number(odds.factor),
                exception=exception,
                from_even=number(100 * odds.from_even, 1),
            ),
        ]
    sentences.append(
        _(
            "So the guarantee does not make a {unit}'s presence undetectable; it bounds how "
            "much the published numbers can reveal about it. Nor does it hide what the numbers "
            "are for: patterns across many records, such as a fall in stops in a district or a "
            "difference in search rates between groups."
        ).format(unit=unit)
    )
    if statement.unit_kind == "record":
        sentences.append(
            _(
                "The unit is one record, so a person stopped several times in a quarter is "
                "protected less: the losses of their records add up (k records, k times the "
                "epsilon). Each record lies in one quarter only, so no later release adds to it."
            )
        )
    elif statement.horizon is not None and statement.horizon_cap is not None:
        sentences.append(
            _(
                "The unit is {unit}. A person's records fall in many quarters, so every release "
                "in the horizon {horizon} spends from one cap of {currency} {cap} together."
            ).format(
                unit=_(statement.unit),
                horizon=statement.horizon,
                currency=_(statement.currency_words),
                cap=significant(statement.horizon_cap, 4),
            )
        )
    sentences.append(
        _(
            "It bounds what these numbers reveal, not what other sources reveal: a news "
            "report, a court record or the person's own account are outside it."
        )
    )
    return tuple(sentences)


# Why a table is withheld, as the release engine writes it into a release (always in
# English: the release keeps it as written); a page reads it back with these same
# templates to say it in its reader's language.
WITHHELD_BECAUSE = {
    "not_published": N_("this department does not publish {noun}"),
    "not_recorded": N_("this department does not record {field} on {noun}"),
    "cannot_occur": N_("none of {field} = {codes} can occur in this department's data"),
    "not_covered": N_("the department's {noun} do not cover {quarter}"),
    "no_areas": N_("this department declares no {areas}"),
    "unnamed_areas": N_("this department's {noun} do not name their {levels}"),
}
PUBLISHED_AS = ": published as "  # a table published at a coarser level instead
# The words those sentences fill in that are words, not codes.
_REASON_WORDS = frozenset(
    (
        N_("stops"),
        N_("crime reports"),
        N_("uses of force"),
        N_("district"),
        N_("beat"),
        N_("districts"),
        N_("beats"),
    )
)
_REASONS = [
    (
        re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template))),
        template,
    )
    for template in WITHHELD_BECAUSE.values()
]


def reason_words(why: str) -> str:
    """A withheld table's reason as the engine stored it, in the language being spoken:
    the same words in English."""
    head, published_as, name = why.partition(PUBLISHED_AS)
    said = "; ".join(_one_reason(part) for part in head.split("; "))
    if published_as:
        said += _(": published as {name}").format(name=name)
    return said


def _one_reason(part: str) -> str:
    for pattern, template in _REASONS:
        found = pattern.fullmatch(part)
        if found is None:
            continue
        words = {name: _word(value) for name, value in found.groupdict().items()}
        return _(template).format(**words)
    return part


def _word(value: str) -> str:
    """A filled-in value in the language being spoken: a word, or words joined by "or",
    translated; a code or a quarter as it is."""
    if value in _REASON_WORDS:
        return _(value)
    parts = value.split(" or ")
    if len(parts) > 1 and all(p in _REASON_WORDS for p in parts):
        return _(" or ").join(_(p) for p in parts)
    return value
