"""The declared areas, by level: the public key set of every area dimension, and the
names made from them."""

from __future__ import annotations

from sqlalchemy import Engine, select

from publishing.i18n import _
from publishing.models import Area


def area_codes(public: Engine) -> dict[str, tuple[str, ...]]:
    """Codes per level (``city``, ``district``, ``beat``), each sorted."""
    with public.connect() as connection:
        rows = connection.execute(select(Area.level, Area.code).order_by(Area.code)).all()
    codes: dict[str, list[str]] = {}
    for level, code in rows:
        codes.setdefault(level, []).append(code)
    return {level: tuple(found) for level, found in codes.items()}


def beat_districts(public: Engine) -> dict[str, str]:
    """The district each declared beat belongs to (beats without one are left out)."""
    with public.connect() as connection:
        rows = connection.execute(
            select(Area.code, Area.parent_code).where(Area.level == "beat")
        ).all()
    return {beat: parent for beat, parent in rows if parent is not None}


def city_name(public: Engine) -> str | None:
    """The declared city's name, if a city is declared."""
    with public.connect() as connection:
        row = connection.execute(select(Area.name).where(Area.level == "city").limit(1)).first()
    return None if row is None else str(row[0])


def department_name(profile_name: str | None, city: str | None) -> str:
    """The department's name: the profile's, else made from the city's ("Riverton Police
    Department"), unless the city already names a police area ("City of London Police
    area" is the force's own name)."""
    if profile_name:
        return profile_name
    if city is None:
        return _("Police Department")
    return city if "police" in city.lower() else _("{city} Police Department").format(city=city)
