"""The policies a console may release under: the shipped ones, and the department's own in
``$PORTAL_DATA_DIR/policies/*.toml``. A form names one of these; never a path."""

from __future__ import annotations

from pathlib import Path

from privacy.release.policy import SHIPPED_DIR, Policy, PolicyError, load_policy
from privacy.shipped import shipped_names


def policy_names(policy_dir: Path) -> list[str]:
    """The names a form may choose: the department's own first, then the shipped ones."""
    own = sorted(p.stem for p in policy_dir.glob("*.toml")) if policy_dir.is_dir() else []
    return own + [n for n in shipped_names(SHIPPED_DIR) if n not in own]


def choose_policy(policy_dir: Path, name: str) -> Policy:
    """The policy ``name`` (the department's own file if it has one of that name)."""
    if name not in policy_names(policy_dir):
        raise PolicyError(
            f"no policy named {name!r}; the policies are: {', '.join(policy_names(policy_dir))}"
        )
    own = policy_dir / f"{name}.toml"
    return load_policy(own if own.is_file() else name)
