"""SQLAlchemy models of the public store: only what may be published.

For now this is the public reference data (areas and focus areas); releases, tables and
cells join it in the release engine's issue. Nothing here may ever hold a raw record.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names both stores use, so that migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PublicBase(DeclarativeBase):
    """Declarative base of the public store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Area(PublicBase):
    """A city, district or beat. Codes are unique across levels."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'district', 'beat')", name="level_code"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("areas.code"), nullable=True, index=True
    )
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    boundary: Mapped[str | None] = mapped_column(Text, nullable=True)  # GeoJSON geometry


class FocusArea(PublicBase):
    """A set of beats where an intervention started on a known date."""

    __tablename__ = "focus_areas"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    intervention_start: Mapped[date] = mapped_column(Date)
    intervention_end: Mapped[date | None] = mapped_column(Date, nullable=True)


class FocusAreaBeat(PublicBase):
    """A beat's role in a focus area: a member, a comparison beat or a buffer beat."""

    __tablename__ = "focus_area_beats"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'comparison', 'buffer')", name="role_code"),
    )

    focus_area_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("focus_areas.code", ondelete="CASCADE"), primary_key=True
    )
    beat_code: Mapped[str] = mapped_column(String(64), ForeignKey("areas.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
