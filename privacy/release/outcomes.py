"""What became of each charge: a published release, one whose report is missing, or one
that was lost between the charge and the publication (its budget stays spent).

The ledger lives in the internal store and releases in the public one; a crash between the
charge and the publication leaves a charge with no release. ``portal budget`` lists such
charges, and a refused repeat says which case it met and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from privacy.release.ledger import EarlierCharge, charged_releases
from publishing.models import Artifact, Release


@dataclass(frozen=True)
class ChargeOutcome:
    """One charged release key and what reached the public store."""

    release_key: str
    period: str
    charged_at: datetime
    release_id: str | None  # the published release, or None when it was lost
    has_report: bool

    @property
    def lost(self) -> bool:
        """Charged, but no release was ever published."""
        return self.release_id is None


def published(public: Engine, release_keys: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """For each of ``release_keys`` that reached the public store: its release id and
    whether its report is there too."""
    if not release_keys:
        return {}
    with public.connect() as connection:
        releases = dict(
            connection.execute(
                select(Release.release_key, Release.id).where(
                    Release.release_key.in_(list(release_keys))
                )
            ).all()
        )
        reported = set(
            connection.execute(
                select(Artifact.release_id).where(
                    Artifact.kind == "report", Artifact.release_id.in_(list(releases.values()))
                )
            ).scalars()
        )
    return {key: (rid, rid in reported) for key, rid in releases.items()}


def charge_outcomes(internal: Engine, public: Engine) -> list[ChargeOutcome]:
    """Every charged release key, oldest first, with what became of it."""
    charged = charged_releases(internal)
    found = published(public, [key for key, _, _ in charged])
    return [
        ChargeOutcome(
            key, period, at, found.get(key, (None, False))[0], found.get(key, (None, False))[1]
        )
        for key, period, at in charged
    ]


def explain_repeat(
    public: Engine, period: str, earlier: Sequence[EarlierCharge], same_policy: Sequence[str]
) -> str:
    """Why a second release of ``period`` under one policy is refused, and what to do:
    ``earlier`` are the ledger's charges under the policy, ``same_policy`` the ids of
    releases of the period under the policy already in the public store."""
    found = published(public, [e.release_key for e in earlier])
    released = sorted({rid for rid, _ in found.values()} | set(same_policy))
    again = "releasing it again spends budget again: pass --rerelease to do it anyway"
    if released:
        text = (
            f"{period} is already released under this policy "
            f"(release {', '.join(r[:12] for r in released)}); {again}"
        )
        if any(not reported for _, reported in found.values()):
            text += (
                f". Its report is missing: build it with `portal report build --period "
                f"{period}`, which spends nothing"
            )
        return text
    lost = ", ".join(f"{e.release_key[:12]} at {e.charged_at:%Y-%m-%d %H:%M} UTC" for e in earlier)
    return (
        f"{period} was already charged under this policy ({lost}), and no release of that "
        "charge is in the public store: either it is still being built, or the process "
        "stopped between the charge and the publication, and that budget stays spent (see "
        "`portal budget`). Publishing now spends again: pass --rerelease to do so"
    )
