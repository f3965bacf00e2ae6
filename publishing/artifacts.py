"""Files made from a release (its quarterly PDF report), kept in the public store.

An artifact is named by the SHA-256 of its bytes and belongs to one release; its file name
is stable (``report-2025Q3-1a2b3c4d5e6f.pdf``), so links to it keep working. Rebuilding a
release's report replaces the earlier one in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from publishing.models import Artifact, Release


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact's metadata."""

    sha256: str
    release_id: str
    period: str
    kind: str
    filename: str
    media_type: str
    size: int
    created_at: datetime

    @property
    def language(self) -> str:
        """The language of a report (``en`` or ``es``)."""
        return report_language(self.filename)


def report_filename(period: str, release_id: str, language: str = "en") -> str:
    """The stable file name of a release's quarterly report in a language (English has no
    language in its name, as before there were two)."""
    suffix = "" if language == "en" else f".{language}"
    return f"report-{period}-{release_id[:12]}{suffix}.pdf"


def report_language(filename: str) -> str:
    """The language of a report, from its file name."""
    found = re.fullmatch(r"report-.+?(?:\.([a-z]{2}))?\.pdf", filename)
    return (found[1] if found and found[1] else None) or "en"


def write_artifact(
    public: Engine,
    *,
    release_id: str,
    kind: str,
    filename: str,
    media_type: str,
    content: bytes,
    created_at: datetime,
) -> str:
    """Store ``content`` as the release's artifact of that file name (replacing an earlier
    one: a report rebuilt in the same language); return its SHA-256."""
    digest = hashlib.sha256(content).hexdigest()
    with public.begin() as connection:
        connection.execute(
            delete(Artifact).where(
                Artifact.release_id == release_id,
                Artifact.kind == kind,
                Artifact.filename == filename,
            )
        )
        connection.execute(delete(Artifact).where(Artifact.sha256 == digest))
        connection.execute(
            insert(Artifact).values(
                sha256=digest,
                release_id=release_id,
                kind=kind,
                filename=filename,
                media_type=media_type,
                size=len(content),
                content=content,
                created_at=created_at,
            )
        )
    return digest


def list_artifacts(public: Engine) -> list[ArtifactInfo]:
    """Every artifact, newest period first (without the bytes)."""
    query = (
        select(
            Artifact.sha256,
            Artifact.release_id,
            Release.period,
            Artifact.kind,
            Artifact.filename,
            Artifact.media_type,
            Artifact.size,
            Artifact.created_at,
        )
        .join(Release, Release.id == Artifact.release_id)
        .order_by(Release.period.desc(), Artifact.created_at.desc())
    )
    with public.connect() as connection:
        return [ArtifactInfo(*row) for row in connection.execute(query)]


def read_artifact(public: Engine, filename: str) -> tuple[ArtifactInfo, bytes] | None:
    """An artifact and its bytes, by file name."""
    query = (
        select(
            Artifact.sha256,
            Artifact.release_id,
            Release.period,
            Artifact.kind,
            Artifact.filename,
            Artifact.media_type,
            Artifact.size,
            Artifact.created_at,
            Artifact.content,
        )
        .join(Release, Release.id == Artifact.release_id)
        .where(Artifact.filename == filename)
    )
    with public.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return ArtifactInfo(*row[:-1]), bytes(row[-1])
