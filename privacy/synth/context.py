"""What the record generators share: the city, its people and officers, and the formatters."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from privacy import vocabulary as v
from privacy.synth import sampling as s
from privacy.synth import tables as t
from privacy.synth.chunks import Chunk
from privacy.synth.fmt import Clock, Coordinates, ObjArray, keys, lookup, serials, table
from privacy.synth.geography import Geography

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class People:
    """The subjects of a chunk's rows: person ids and their fixed traits (vocabulary codes)."""

    person: IntArray
    race: IntArray
    sex: IntArray
    age: IntArray

    def pick(self, other: People, take_other: npt.NDArray[np.bool_]) -> People:
        """Row by row, these people or, where ``take_other``, the other ones."""
        return People(
            *(
                np.where(take_other, getattr(other, f), getattr(self, f))
                for f in ("person", "race", "sex", "age")
            )
        )


@dataclass(eq=False)
class Context:
    """The city and its populations of people and officers, with cached formatters.

    People live in beats: each beat has a pool of people, drawn heavy-tailed so that a few
    are stopped again and again. A person's race, sex and age band are a hash of the person's
    id, so repeated records of one person agree (before a share is recorded as unknown).
    """

    geo: Geography
    person_pool: IntArray  # per beat
    officer_pool: IntArray  # per district
    person_salt: int
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        geo = self.geo
        west, south, east, north = geo.beat_bounds_micro()
        self.bounds = (west, south, east, north)
        self.lat = Coordinates(int(south.min()), int(north.max()))
        self.lng = Coordinates(int(west.min()), int(east.max()))
        self.person_offset = np.concatenate([[0], np.cumsum(self.person_pool)[:-1]])
        self.officer_offset = np.concatenate([[0], np.cumsum(self.officer_pool)[:-1]])
        self.person_width = max(7, len(str(int(self.person_pool.sum()))))
        n_officers = int(self.officer_pool.sum())
        self.officers = table([f"O{i:0{max(4, len(str(n_officers)))}d}" for i in range(n_officers)])
        self.district_codes = table(geo.district_codes)
        self.beat_codes = table(geo.beat_codes)
        self.race_cdf = s.cumulative(np.pad(geo.race_mix, ((0, 0), (0, 1))))
        rank = np.argsort(np.argsort(geo.propensity)) / max(1, geo.n_beats - 1)
        low, high = t.PEDESTRIAN_SHARE_LOW, t.PEDESTRIAN_SHARE_HIGH
        self.pedestrian_base = low + (high - low) * rank
        z = (geo.propensity - geo.propensity.mean()) / geo.propensity.std()
        violent = np.array([v.CRIME_AGAINST_BY_OFFENSE[c] == "person" for c in v.OFFENSE_CATEGORY])
        tilt = np.where(violent[None, :], np.exp(t.VIOLENT_TILT * z)[:, None], 1.0)
        mix = t.OFFENSE_MIX[None, :] * tilt
        self.offense_by_beat = mix / mix.sum(axis=1, keepdims=True)

    def head(self, prefix: str, chunk: Chunk) -> list[list[str]]:
        """The leading columns of every record: source_id, occurred_at, district, beat."""
        period = chunk.period
        return [
            serials(prefix, chunk.first_row, len(chunk), 8),
            self.clock.format(period.start, period.days, chunk.day, chunk.second),
            lookup(self.district_codes, self.geo.beat_district[chunk.beat]),
            lookup(self.beat_codes, chunk.beat),
        ]

    def place(self, rng: np.random.Generator, beat: IntArray) -> list[list[str]]:
        """Latitude and longitude columns inside each row's beat, a few left empty."""
        west, south, east, north = self.bounds
        n = len(beat)
        x = west[beat] + 1 + np.floor(rng.random(n) * (east - west - 2)[beat]).astype(np.int64)
        y = south[beat] + 1 + np.floor(rng.random(n) * (north - south - 2)[beat]).astype(np.int64)
        missing = s.bernoulli(rng, t.MISSING_COORDINATES, n)
        return [self.lat.format(y, missing), self.lng.format(x, missing)]

    def people(self, rng: np.random.Generator, beat: IntArray) -> People:
        """A heavy-tailed pick of a person from each row's beat, with the person's traits."""
        pool = self.person_pool[beat]
        person = self.person_offset[beat] + s.heavy_index(rng, pool, t.PERSON_TAIL)
        salt = self.person_salt
        race = s.draw_with_cdf(
            s.hash_uniform(person, salt), self.race_cdf[self.geo.beat_district[beat]]
        )
        sex = s.draw_with_cdf(s.hash_uniform(person, salt + 1), s.cumulative(t.SEX_MIX))
        age = s.draw_with_cdf(s.hash_uniform(person, salt + 2), s.cumulative(t.AGE_MIX))
        return People(person=person, race=race, sex=sex, age=age)

    def person_keys(self, people: People) -> list[str]:
        """Person keys such as ``P0001234``."""
        return keys("P", people.person, self.person_width)

    def officer_keys(self, rng: np.random.Generator, beat: IntArray, tail: float) -> list[str]:
        """Officer keys from the district's officers, heavy-tailed by activity."""
        district = self.geo.beat_district[beat]
        pool = self.officer_pool[district]
        return lookup(self.officers, self.officer_offset[district] + s.heavy_index(rng, pool, tail))


_TABLES: dict[tuple[str, ...], ObjArray] = {}


def coded(
    rng: np.random.Generator, codes: IntArray, vocab: tuple[str, ...], column: str | None = None
) -> list[str]:
    """Vocabulary strings for ``codes``, a share of them replaced by ``unknown`` when the
    column has an unknown rate in :data:`tables.UNKNOWN_RATE`."""
    strings = _TABLES.setdefault(vocab, table(vocab))
    if column is not None:
        codes = s.mask_unknown(rng, codes, t.UNKNOWN_RATE[column], vocab.index(v.UNKNOWN))
    return lookup(strings, codes)
