"""``portal profile``: the department's public profile (what it records, the windows its
data cover): shown, and replaced by a reviewed file."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.profile import vocabularies, vocabulary_switch
from privacy.store.audit import utc_now
from publishing.profile import ProfileError, parse_profile, read_profile, write_profile


def show_profile(settings: Settings, *, as_json: bool, console: Console) -> int:
    """Print the profile in force as TOML (or JSON); return the exit code."""
    public = public_engine(settings)
    try:
        profile = read_profile(public)
    finally:
        public.dispose()
    if profile is None:
        Console(stderr=True).print(
            "No department profile yet: every source, field and code is taken as recorded. "
            "Ingesting records through a mapping starts one; `portal profile set FILE` "
            "declares one."
        )
        return 0
    if as_json:
        print(json.dumps({"revision": profile.revision, **profile.as_json()}, indent=2))
        return 0
    print(f"# department profile, revision {profile.revision}")
    print(profile.to_toml(), end="")
    return 0


def set_profile(settings: Settings, path: Path, *, console: Console) -> int:
    """Check the profile file against the canonical vocabularies and make it the one in
    force; return the exit code."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        text = path.read_text(encoding="utf-8")
        profile = parse_profile(text, vocabularies=vocabularies(), origin=str(path))
    except (OSError, UnicodeDecodeError) as error:
        err.print(f"[red]refused:[/] cannot read {escape(str(path))}: {escape(str(error))}")
        return EXIT_REFUSED
    except ProfileError as error:
        err.print(f"[red]refused:[/] {escape(str(error))}")
        return EXIT_REFUSED
    public, internal = public_engine(settings), internal_engine(settings)
    try:
        refusal = vocabulary_switch(read_profile(public), profile, internal)
        if refusal is not None:
            err.print(f"[red]refused:[/] {escape(refusal)}")
            return EXIT_REFUSED
        revision = write_profile(public, profile, now=utc_now())
    finally:
        public.dispose()
        internal.dispose()
    console.print(
        f"[green]✓[/] the department profile in force is revision {revision} "
        f"({escape(profile.name)}); releases from now on follow it"
    )
    return 0
