"""What the public store holds, as the site and the reports read it.

Releases are immutable, so a release's tables are read once and kept. The catalog itself
(which releases exist, the areas, the focus areas) is small and is re-read only when its
version (the release ids and the reference data's size) changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from publishing.areas import department_name
from publishing.audits import AuditInfo, read_audits
from publishing.i18n import _
from publishing.models import (
    Area,
    Artifact,
    DepartmentProfileRevision,
    FocusArea,
    FocusAreaBeat,
    PrivacyAudit,
    PublicRevision,
    Release,
    ReleaseArea,
)
from publishing.notices import Notice, read_notices
from publishing.profile import DepartmentProfile, read_profile
from publishing.releases import PublishedTable, read_release
from publishing.statement import BudgetStatement
from publishing.vocabularies import Vocabulary, declared

Derived = TypeVar("Derived")
AREA_LEVELS = ("city", "district", "beat")  # the order areas are listed in


@dataclass(frozen=True)
class ReleaseInfo:
    """A release's metadata, without its cells."""

    id: str
    period: str
    policy_name: str
    policy_version: int
    policy_sha256: str
    policy_text: str
    budget_statement: dict[str, Any]
    engine_version: str
    created_at: datetime
    # Why the release no longer stands (superseded or withdrawn), if it does not.
    notice: Notice | None = None

    @property
    def statement(self) -> BudgetStatement:
        """The budget statement, typed."""
        return BudgetStatement.of(self.budget_statement)


@dataclass(frozen=True)
class AreaInfo:
    """A declared area (public reference data)."""

    code: str
    level: str
    name: str
    parent: str | None
    population: int | None
    boundary: dict[str, Any] | None
    # Residents by race or ethnic group (subject_race codes), where declared.
    population_by_race: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FocusAreaInfo:
    """A focus area, its beats by role, and when its intervention started."""

    code: str
    name: str
    start: date
    end: date | None
    beats: dict[str, tuple[str, ...]]  # role -> beat codes


@dataclass
class Catalog:
    """Releases (the current one of each period is the latest made), areas, focus areas."""

    version: str
    releases: tuple[ReleaseInfo, ...]
    areas: dict[str, AreaInfo]
    focus_areas: dict[str, FocusAreaInfo]
    engine: Engine
    audits: tuple[AuditInfo, ...] = ()
    profile: DepartmentProfile | None = None
    _tables: dict[str, dict[str, PublishedTable]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Figures derived from released tables (an evaluation as of a release), by key.
    _derived: dict[tuple[str, ...], object] = field(default_factory=dict)

    @cached_property
    def current(self) -> dict[str, ReleaseInfo]:
        """The release that stands for each period: the latest one made without a notice
        (a period whose every release was withdrawn has none)."""
        chosen: dict[str, ReleaseInfo] = {}
        for release in self.releases:  # ordered by period, then creation
            if release.notice is None:
                chosen[release.period] = release
        return chosen

    @cached_property
    def periods(self) -> list[str]:
        """Periods with a release, oldest first."""
        return sorted(self.current)

    def up_to(self, period: str, quarters: int | None = None) -> Catalog:
        """The catalog as it stood for ``period``: its releases and earlier ones only (the
        last ``quarters`` periods, if given). Shares the cache of read tables."""
        periods = sorted(p for p in self.current if p <= period)
        kept = set(periods[-quarters:] if quarters else periods)
        return replace(
            self,
            releases=tuple(r for r in self.releases if r.period in kept),
            _tables=self._tables,
            _lock=self._lock,
            _derived=self._derived,
        )

    def release(self, release_id: str) -> ReleaseInfo | None:
        """The release with that id (or a unique prefix of it of 12 characters or more)."""
        for release in self.releases:
            if release.id == release_id or (
                len(release_id) >= 12 and release.id.startswith(release_id)
            ):
                return release
        return None

    def tables(self, release_id: str) -> dict[str, PublishedTable]:
        """A release's tables by name, read once."""
        with self._lock:
            if release_id not in self._tables:
                content = read_release(self.engine, release_id)
                if content is None:
                    raise KeyError(release_id)
                self._tables[release_id] = {t.name: t for t in content.tables}
            return self._tables[release_id]

    def frozen_areas(self, release_id: str) -> list[AreaInfo]:
        """The areas as they stood when a release was written (without boundaries), the
        city first, then districts, then beats, each by code; empty for a release written
        before areas were kept with releases."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    ReleaseArea.code,
                    ReleaseArea.level,
                    ReleaseArea.name,
                    ReleaseArea.parent_code,
                    ReleaseArea.population,
                ).where(ReleaseArea.release_id == release_id)
            ).all()
        areas = [AreaInfo(*row, boundary=None) for row in rows]
        return sorted(areas, key=lambda a: (AREA_LEVELS.index(a.level), a.code))

    def derived(self, key: tuple[str, ...], compute: Callable[[], Derived]) -> Derived:
        """What ``compute`` derives from released tables, computed once per ``key`` (which
        names the release it is as of) and shared by every surface that shows it. Two
        threads may both compute it the first time; they find the same."""
        if key not in self._derived:
            self._derived.setdefault(key, compute())
        return self._derived[key]  # type: ignore[return-value]

    def read_current(self) -> None:
        """Read the tables of every period's current release now (rather than on first
        use), e.g. before the store's engine is let go."""
        for release in self.current.values():
            self.tables(release.id)

    def table(self, period: str, name: str) -> PublishedTable | None:
        """The current release's table ``name`` for ``period``, if there is one."""
        release = self.current.get(period)
        if release is None:
            return None
        return self.tables(release.id).get(name)

    def vocabulary(self, field_name: str, period: str | None = None) -> Vocabulary:
        """The vocabulary ``period``'s release (the latest release when None) counts a coded
        field in: its codes, in order, and its headline measure. The field's default when
        there is no release yet."""
        chosen = self.current.get(period) if period else None
        if chosen is None and period is None and self.periods:
            chosen = self.current[self.periods[-1]]
        found = (
            chosen.statement.vocabulary(field_name) if chosen is not None else declared(field_name)
        )
        if found is None:
            raise KeyError(f"{field_name} has no vocabularies to choose from")
        return found

    @property
    def department(self) -> str:
        """The department's name: its profile's, else made from the city's."""
        city = next(iter(self.areas_at("city")), None)
        return department_name(
            self.profile.name if self.profile is not None else None,
            city.name if city is not None else None,
        )

    def areas_at(self, level: str) -> list[AreaInfo]:
        """The declared areas of a level, by code."""
        return sorted((a for a in self.areas.values() if a.level == level), key=lambda a: a.code)

    def place(self, district: str | None) -> str:
        """Where a figure is of, in words: the district's name, or the city's (the declared
        city, else "the city")."""
        if district is not None:
            return self.area_name(district)
        city = next(iter(self.areas_at("city")), None)
        return city.name if city is not None else "the city"

    def area_name(self, code: str) -> str:
        """An area's name, or the code itself (``unknown`` reads as "Not recorded")."""
        if code == "unknown":
            return _("Not recorded")
        area = self.areas.get(code)
        return area.name if area else code


def catalog_version(engine: Engine) -> str:
    """A fingerprint of what the public store holds: changes on every write to a published
    table (an area renamed, a focus area's date moved, a release, a report, a privacy audit
    or a profile revision added), because the database bumps the public revision on each.
    The release ids and file hashes beside it tell two stores at the same revision apart."""
    with engine.connect() as connection:
        revision = connection.execute(select(PublicRevision.revision)).scalar_one()
        ids = connection.execute(select(Release.id).order_by(Release.id)).scalars().all()
        areas = connection.execute(select(func.count()).select_from(Area)).scalar_one()
        beats = connection.execute(select(func.count()).select_from(FocusAreaBeat)).scalar_one()
        files = (
            connection.execute(select(Artifact.sha256).order_by(Artifact.sha256)).scalars().all()
        )
        audits = connection.execute(select(func.max(PrivacyAudit.id))).scalar_one()
        profile = connection.execute(
            select(func.max(DepartmentProfileRevision.revision))
        ).scalar_one()
    fingerprint = [revision, ids, areas, beats, files, audits, profile]
    return hashlib.sha256(json.dumps(fingerprint).encode()).hexdigest()[:16]


def load_catalog(engine: Engine) -> Catalog:
    """Read the catalog of the public store."""
    version = catalog_version(engine)
    notices = read_notices(engine)
    with engine.connect() as connection:
        releases = tuple(
            ReleaseInfo(
                r.id,
                r.period,
                r.policy_name,
                r.policy_version,
                r.policy_sha256,
                r.policy_text,
                json.loads(r.budget_statement),
                r.engine_version,
                r.created_at,
                notices.get(r.id),
            )
            for r in connection.execute(
                select(Release).order_by(Release.period, Release.created_at, Release.id)
            )
        )
        areas = {
            a.code: AreaInfo(
                a.code,
                a.level,
                a.name,
                a.parent_code,
                a.population,
                json.loads(a.boundary) if a.boundary else None,
                json.loads(a.population_by_race) if a.population_by_race else {},
            )
            for a in connection.execute(select(Area))
        }
        roles: dict[str, dict[str, list[str]]] = {}
        for beat in connection.execute(select(FocusAreaBeat).order_by(FocusAreaBeat.beat_code)):
            roles.setdefault(beat.focus_area_code, {}).setdefault(beat.role, []).append(
                beat.beat_code
            )
        focus = {
            f.code: FocusAreaInfo(
                f.code,
                f.name,
                f.intervention_start,
                f.intervention_end,
                {role: tuple(b) for role, b in roles.get(f.code, {}).items()},
            )
            for f in connection.execute(select(FocusArea).order_by(FocusArea.code))
        }
    return Catalog(
        version, releases, areas, focus, engine, read_audits(engine), read_profile(engine)
    )
