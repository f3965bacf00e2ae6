"""Vectorised generators of record chunks: stops, incidents and use-of-force events.

Each generator turns a :class:`Chunk` (beats and times) into the file's columns, in the
order of the canonical schema, as lists of strings ready for ``csv.writer.writerows``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from privacy import vocabulary as v
from privacy.synth import sampling as s
from privacy.synth import tables as t
from privacy.synth.chunks import Chunk
from privacy.synth.context import Context, People, coded

IntArray = npt.NDArray[np.int64]
Columns = list[list[str]]

FEMALE, MALE = v.SUBJECT_SEX.index("female"), v.SUBJECT_SEX.index("male")
YOUNG = np.array([v.SUBJECT_AGE_BAND.index(a) for a in ("18_24", "25_34")])
WARRANT = v.REASON.index("warrant")
NONE, ARREST = v.OUTCOME.index("none"), v.OUTCOME.index("arrest")
YES, NO = v.FLAG.index("yes"), v.FLAG.index("no")
VEHICULAR = v.STOP_TYPE.index("vehicular")
PEDESTRIAN = v.STOP_TYPE.index("pedestrian")
OTHER_STOP = v.STOP_TYPE.index("other")
CRIME_AGAINST_CODE = np.array(
    [v.CRIME_AGAINST.index(v.CRIME_AGAINST_BY_OFFENSE[c]) for c in v.OFFENSE_CATEGORY]
)


@dataclass
class StopStats:
    """Realised tallies of the stops written, per study year."""

    years: int
    stops: IntArray = field(init=False)
    no_action: IntArray = field(init=False)
    searches: IntArray = field(init=False)
    hits: IntArray = field(init=False)
    arrests: IntArray = field(init=False)

    def __post_init__(self) -> None:
        for name in ("stops", "no_action", "searches", "hits", "arrests"):
            setattr(self, name, np.zeros(self.years, dtype=np.int64))

    def add(self, year: IntArray, **flags: npt.NDArray[np.bool_]) -> None:
        """Count a chunk's rows (``year``) and its flagged rows per year."""
        self.stops += np.bincount(year, minlength=self.years)
        for name, flag in flags.items():
            getattr(self, name)[:] += np.bincount(year[flag], minlength=self.years)

    def summary(self) -> list[dict[str, float | int]]:
        """Per study year: stops and the realised shares."""
        out: list[dict[str, float | int]] = []
        for y in range(self.years):
            n, searched = int(self.stops[y]), int(self.searches[y])
            out.append(
                {
                    "year": y + 1,
                    "stops": n,
                    "no_action_share": round(int(self.no_action[y]) / n, 6) if n else 0.0,
                    "search_rate": round(searched / n, 6) if n else 0.0,
                    "hit_rate": round(int(self.hits[y]) / searched, 6) if searched else 0.0,
                    "arrest_share": round(int(self.arrests[y]) / n, 6) if n else 0.0,
                }
            )
        return out


def stop_columns(rng: np.random.Generator, ctx: Context, chunk: Chunk, stats: StopStats) -> Columns:
    """The columns of a chunk of stops (the canonical stop fields, in order)."""
    n, beat = len(chunk), chunk.beat
    who = ctx.people(rng, beat)
    district = ctx.geo.beat_district[beat]
    p_ped = np.minimum(ctx.pedestrian_base[beat] * t.PEDESTRIAN_BY_AGE[who.age], 0.9)
    u = rng.random(n)
    stop_type = np.where(
        u < p_ped, PEDESTRIAN, np.where(u < p_ped + t.OTHER_STOP_SHARE, OTHER_STOP, VEHICULAR)
    )
    reason = s.draw_grouped(rng, t.REASON_BY_TYPE, stop_type)
    race_factor = t.RACE_SEARCH_FACTOR[who.race]
    frisk_p = t.FRISK_BY_TYPE[stop_type] * race_factor
    frisk = s.bernoulli(rng, np.where(who.sex == FEMALE, t.FEMALE_FRISK_FACTOR, 1.0) * frisk_p, n)
    search_p = t.SEARCH_BY_TYPE[stop_type] * race_factor
    search_p = np.where(frisk, np.maximum(search_p, t.SEARCH_IF_FRISKED), search_p)
    search_p = np.where(reason == WARRANT, np.maximum(search_p, t.SEARCH_IF_WARRANT), search_p)
    search = s.bernoulli(rng, search_p, n)
    hit_p = t.HIT_RATE_BY_RACE[who.race]
    contraband = search & s.bernoulli(rng, hit_p, n)
    # No action (outcome none, no contraband) happens with the target share for every stop:
    # P(no contraband) * P(none | no contraband) = target.
    target = t.NO_ACTION_START + (t.NO_ACTION_END - t.NO_ACTION_START) * chunk.elapsed
    none = s.bernoulli(rng, np.minimum(1.0, target / (1.0 - search_p * hit_p)), n)
    with_contraband = s.draw(rng, t.OUTCOME_IF_CONTRABAND, n)
    action = 1 + s.draw_grouped(rng, t.ACTION_BY_REASON, reason)
    outcome = np.where(contraband, with_contraband, np.where(none, NONE, action))
    arrest = outcome == ARREST
    force_p = np.where(arrest, t.FORCE_IF_ARREST, t.FORCE_OTHERWISE)
    force = s.bernoulli(rng, force_p * ctx.geo.force_factor[district], n)
    stats.add(
        chunk.year,
        no_action=(outcome == NONE) & ~contraband,
        searches=search,
        hits=contraband,
        arrests=arrest,
    )
    return [
        *ctx.head("S", chunk),
        coded(rng, stop_type, v.STOP_TYPE, "stop_type"),
        coded(rng, reason, v.REASON, "reason"),
        coded(rng, who.race, v.SUBJECT_RACE, "subject_race"),
        coded(rng, who.sex, v.SUBJECT_SEX, "subject_sex"),
        coded(rng, who.age, v.SUBJECT_AGE_BAND, "subject_age_band"),
        coded(rng, np.where(frisk, YES, NO), v.FLAG, "frisk_performed"),
        coded(rng, np.where(search, YES, NO), v.FLAG),
        coded(rng, np.where(contraband, YES, NO), v.FLAG),
        coded(rng, outcome, v.OUTCOME),
        coded(rng, np.where(force, YES, NO), v.FLAG, "use_of_force"),
        ctx.person_keys(who),
        ctx.officer_keys(rng, beat, t.OFFICER_TAIL),
        *ctx.place(rng, beat),
    ]


def incident_columns(rng: np.random.Generator, ctx: Context, chunk: Chunk) -> Columns:
    """The columns of a chunk of incidents (the canonical incident fields, in order)."""
    offense = s.draw_grouped(rng, ctx.offense_by_beat, chunk.beat)
    unknown = v.OFFENSE_CATEGORY.index(v.UNKNOWN)
    offense = s.mask_unknown(rng, offense, t.UNKNOWN_RATE["offense_category"], unknown)
    source_id, occurred_at, district, beat = ctx.head("I", chunk)
    return [
        source_id,
        occurred_at,
        coded(rng, offense, v.OFFENSE_CATEGORY),
        coded(rng, CRIME_AGAINST_CODE[offense], v.CRIME_AGAINST),
        district,
        beat,
        *ctx.place(rng, chunk.beat),
    ]


def _force_risk(who: People) -> IntArray:
    risk: IntArray = 2 * (who.sex == MALE) + np.isin(who.age, YOUNG)
    return risk


def force_columns(rng: np.random.Generator, ctx: Context, chunk: Chunk) -> Columns:
    """The columns of a chunk of use-of-force events (the canonical force fields, in order)."""
    n, beat = len(chunk), chunk.beat
    # Force falls mostly on young men: of two people from the beat, the likelier subject.
    first, second = ctx.people(rng, beat), ctx.people(rng, beat)
    who = first.pick(second, _force_risk(second) > _force_risk(first))
    force_type = s.draw(rng, t.FORCE_TYPE_MIX, n)
    injury = s.bernoulli(rng, t.INJURY_BY_FORCE_TYPE[force_type], n)
    return [
        *ctx.head("F", chunk),
        coded(rng, force_type, v.FORCE_TYPE, "force_type"),
        coded(rng, who.race, v.SUBJECT_RACE, "subject_race"),
        coded(rng, who.sex, v.SUBJECT_SEX, "subject_sex"),
        coded(rng, who.age, v.SUBJECT_AGE_BAND, "subject_age_band"),
        coded(rng, np.where(injury, YES, NO), v.FLAG, "subject_injury"),
        ctx.person_keys(who),
        ctx.officer_keys(rng, beat, t.FORCE_OFFICER_TAIL),
        *ctx.place(rng, beat),
    ]
