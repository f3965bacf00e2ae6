"""Files that ship with the portal (mappings, policies), found by name or by path."""

from __future__ import annotations

from pathlib import Path


def resolve_toml(name_or_path: str | Path, shipped_dir: Path) -> Path | None:
    """A path as given, or ``shipped_dir/NAME.toml`` for a bare name; None if neither is."""
    path = Path(name_or_path)
    if path.suffix or path.exists():
        return path
    shipped = shipped_dir / f"{name_or_path}.toml"
    return shipped if shipped.exists() else None


def shipped_names(shipped_dir: Path) -> list[str]:
    """The names of the TOML files in ``shipped_dir``, sorted."""
    return sorted(p.stem for p in shipped_dir.glob("*.toml"))
