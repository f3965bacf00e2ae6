"""The department's console, used as its people use it: every rule of the workflow, and
every refusal with its status and its line in the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text, update

from portal.admin.app import create_admin_app
from portal.admin.state import SESSION_COOKIE
from portal.admin.uploads import wait_idle
from portal.settings import Settings
from portal.stores import public_engine
from privacy.release.ledger import period_budgets
from privacy.store.audit import utc_now
from privacy.store.console import ConsoleSession, ConsoleUser, ReleaseDraft
from publishing.catalog import load_catalog
from publishing.models import Release
from publishing.notices import read_notices
from publishing.releases import content_from_json
from tests.console import (
    HALVES,
    PASSWORD,
    Console,
    Person,
    add_people,
    alert,
    audit_lines,
    console,
    draft_id,
    minneapolis_stops,
    person,
    write_halves_policy,
)

PERIOD = "2025Q2"


@pytest.fixture
def console_city(settings: Settings, ingested_city: tuple[Engine, Engine]) -> Settings:
    """The synthetic city ingested, nothing released, the console's people, and the
    department's half-budget policy."""
    add_people(ingested_city[0])
    write_halves_policy(settings.data_dir)
    return settings


@pytest.fixture
def app(console_city: Settings) -> Iterator[Console]:
    """The console over those stores (reports left to their own tests), served to a test
    client in which each person has a browser of their own."""
    with console(
        create_admin_app(console_city, build_reports=False, max_upload_bytes=300_000)
    ) as desk:
        yield desk


def releases_of(public: Engine, period: str) -> list[str]:
    with public.connect() as connection:
        return list(
            connection.execute(select(Release.id).where(Release.period == period)).scalars()
        )


def published_half(analyst: Person, approver: Person, public: Engine) -> str:
    """The id of PERIOD's release under the half-budget policy, built by ``analyst`` and
    published by ``approver``: half the quarter is left for a correction."""
    built = draft_id(analyst.post("/releases/drafts", period=PERIOD, policy=HALVES))
    assert approver.post(f"/releases/drafts/{built}/publish").status_code == 303
    [release] = releases_of(public, PERIOD)
    return release


def test_a_draft_is_charged_kept_inside_and_published_only_by_another_approver(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        plan = ana.get("/releases/plan", period=PERIOD, policy="quarterly")
        assert plan.status_code == 200
        assert "Build the draft (charges the budget)" in plan.text
        assert period_budgets(internal) == []  # the plan spent nothing

        built = ana.post("/releases/drafts", period=PERIOD, policy="quarterly")
        assert built.status_code == 303
        draft = draft_id(built)
        assert [b.period for b in period_budgets(internal)] == [PERIOD]  # charged
        assert releases_of(public, PERIOD) == []  # but nothing public
        page = ana.get(f"/releases/drafts/{draft}")
        assert "Status: draft" in page.text and "95% interval" in page.text

        refused = ana.post(f"/releases/drafts/{draft}/publish")
        assert refused.status_code == 403
        assert "does not allow this (approve)" in alert(refused)

        published = april.post(f"/releases/drafts/{draft}/publish")
        assert published.status_code == 303
    assert len(releases_of(public, PERIOD)) == 1
    with internal.connect() as connection:
        row = connection.execute(select(ReleaseDraft).where(ReleaseDraft.id == draft)).one()
    assert (row.status, row.built_by, row.decided_by) == ("published", "ana", "april")
    assert row.release_id == releases_of(public, PERIOD)[0]
    actions = [(actor, action) for actor, action, _ in audit_lines(internal)]
    assert ("ana", "build draft") in actions
    assert ("ana", "refused") in actions
    assert ("april", "approve") in actions and ("april", "publish") in actions


def test_no_one_approves_their_own_draft_even_after_a_change_of_role(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with person(app, "ana") as ana:
        draft = draft_id(ana.post("/releases/drafts", period=PERIOD, policy="quarterly"))
    with internal.begin() as connection:
        connection.execute(
            update(ConsoleUser).where(ConsoleUser.name == "ana").values(role="approver")
        )
    with person(app, "ana") as ana:
        refused = ana.post(f"/releases/drafts/{draft}/publish")
    assert refused.status_code == 403
    assert "ana built draft" in alert(refused) and "another approver must" in alert(refused)
    assert releases_of(public, PERIOD) == []
    assert audit_lines(internal)[-1][:2] == ("ana", "refused")


def test_a_rejected_draft_keeps_its_spend_and_its_reason_and_a_rebuild_must_spend_again(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        draft = draft_id(ana.post("/releases/drafts", period=PERIOD, policy=HALVES))
        waiting = ana.post("/releases/drafts", period=PERIOD, policy=HALVES)
        assert waiting.status_code == 409 and "awaits a decision" in alert(waiting)
        assert april.post(f"/releases/drafts/{draft}/reject", reason="").status_code == 409
        assert (
            april.post(f"/releases/drafts/{draft}/reject", reason="wrong month").status_code == 303
        )
        spent = period_budgets(internal)[0].spent

        again = ana.post("/releases/drafts", period=PERIOD, policy=HALVES)
        assert again.status_code == 409 and "spends budget again" in alert(again)
        rebuilt = ana.post("/releases/drafts", period=PERIOD, policy=HALVES, spend_again="yes")
        assert rebuilt.status_code == 303
        assert "rejected: wrong month" in ana.get("/releases").text
    assert period_budgets(internal)[0].spent == pytest.approx(2 * spent)
    assert releases_of(public, PERIOD) == []


def test_a_correction_supersedes_a_release_and_a_withdrawal_takes_a_second_approver(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with (
        person(app, "ana") as ana,
        person(app, "april") as april,
        person(app, "arthur") as arthur,
    ):
        old = published_half(ana, april, public)

        already = ana.post("/releases/drafts", period=PERIOD, policy=HALVES)
        assert already.status_code == 409 and "is already released" in alert(already)
        no_reason = ana.post(f"/releases/{old}/correct", period=PERIOD, policy=HALVES)
        assert no_reason.status_code == 409 and "needs a reason" in alert(no_reason)
        corrected = draft_id(
            ana.post(
                f"/releases/{old}/correct",
                period=PERIOD,
                policy=HALVES,
                reason="beat 12 was mapped to the wrong district",
            )
        )
        assert arthur.post(f"/releases/drafts/{corrected}/publish").status_code == 303
        [new] = [r for r in releases_of(public, PERIOD) if r != old]
        notice = read_notices(public)[old]
        assert (notice.status, notice.replaced_by) == ("superseded", new)
        assert notice.reason == "beat 12 was mapped to the wrong district"
        supersede = [json.loads(d) for _, a, d in audit_lines(internal) if a == "supersede"]
        assert [(s["release_id"], s["by"]) for s in supersede] == [(old, new)]

        asked = april.post(f"/releases/{new}/withdraw", reason="published by mistake")
        assert asked.status_code == 303
        assert new not in read_notices(public)  # one person is not enough
        correction = json.loads(
            [d for _, a, d in audit_lines(internal) if a == "request withdrawal"][-1]
        )["correction"]
        own = april.post(f"/corrections/{correction}/confirm")
        assert own.status_code == 403 and "a second person must" in alert(own)
        assert arthur.post(f"/corrections/{correction}/confirm").status_code == 303
    assert read_notices(public)[new].status == "withdrawn"
    catalog = load_catalog(public)
    assert PERIOD not in catalog.current  # nothing stands for the quarter now
    assert {r.id for r in catalog.releases if r.period == PERIOD} == {old, new}  # kept


def test_the_public_site_shows_superseded_and_withdrawn_releases_with_reason_and_date(
    app: Console, console_city: Settings, ingested_city: tuple[Engine, Engine]
) -> None:
    from litestar.testing import TestClient

    from portal.web.app import create_app

    _, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        old = published_half(ana, april, public)
        fix = draft_id(
            ana.post(
                f"/releases/{old}/correct",
                period=PERIOD,
                policy=HALVES,
                reason="a district code was wrong",
            )
        )
        april.post(f"/releases/drafts/{fix}/publish")
    [new] = [r for r in releases_of(public, PERIOD) if r != old]
    today = utc_now().strftime("%Y-%m-%d")
    with TestClient(create_app(console_city)) as site:
        archive = site.get("/releases").text
        assert f"Superseded on {today}</strong>: a district code was wrong" in archive
        old_page = site.get(f"/releases/{old}").text
        assert f"This release was superseded on {today} by a corrected release." in old_page
        assert f'href="/releases/{new}"' in old_page
        summaries = {r["id"]: r for r in site.get("/api/v1/releases").json()}
        assert summaries[old]["current"] is False and summaries[new]["current"] is True
        assert summaries[old]["notice"]["status"] == "superseded"
        assert summaries[old]["notice"]["replaced_by"] == new
        assert summaries[new]["notice"] is None


def test_sign_in_refusals_each_answer_a_4xx_and_leave_an_audit_line(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "audrey", signed_in=False) as audrey:
        wrong = audrey.sign_in("not her password at all")
        assert wrong.status_code == 401 and alert(wrong) == "The name or the password is wrong."
        nobody = audrey.post("/login", name="nobody", password="whatever it is")
        assert alert(nobody) == "The name or the password is wrong."  # a name is not revealed
        for _ in range(4):  # five failures in all for her account
            audrey.sign_in("still not her password")
        throttled = audrey.sign_in()  # the right password, after five failures
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "900"
        unsigned = audrey.get("/ledger")
        assert unsigned.status_code == 401 and "Sign in" in alert(unsigned)
    actions = [(actor, action) for actor, action, _ in audit_lines(internal)]
    assert actions.count(("audrey", "failed sign-in")) == 5
    assert ("nobody", "failed sign-in") in actions
    assert ("audrey", "sign-in throttled") in actions
    assert any(a == "not signed in" for _, a in actions)
    details = " ".join(d for _, _, d in audit_lines(internal))
    assert "not her password" not in details  # a password is never written down


def test_sessions_expire_and_cookies_are_secure_httponly_and_strict(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "audrey", signed_in=False) as audrey:
        audrey.get("/login")
        before = audrey.cookies.get(SESSION_COOKIE)
        answer = audrey.sign_in()
        assert before and audrey.cookies.get(SESSION_COOKIE) not in (None, before)  # renewed
        cookie = answer.headers["set-cookie"].lower()
        for attribute in ("secure", "httponly", "samesite=strict", "max-age=1800"):
            assert attribute in cookie
        assert audrey.get("/ledger").status_code == 200
        with internal.begin() as connection:
            connection.execute(
                update(ConsoleSession).values(expires_at=utc_now() - timedelta(seconds=1))
            )
        expired = audrey.get("/ledger")
        assert expired.status_code == 401 and "expired" in alert(expired)
    assert audit_lines(internal)[-1][1] == "session expired"


def test_forms_without_the_right_csrf_token_are_refused_and_recorded(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "ana") as ana:
        missing = ana.post_raw("/releases/drafts", {"period": PERIOD})
        wrong = ana.post_raw("/releases/drafts", {"period": PERIOD, "_csrf_token": "forged"})
    for answer in (missing, wrong):
        assert answer.status_code == 403
        assert "security token is missing or does not match" in alert(answer)
    refusals = [json.loads(d) for _, a, d in audit_lines(internal) if a == "refused request"]
    assert [r["status"] for r in refusals] == [403, 403]
    assert period_budgets(internal) == []


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("audrey", "post", "/releases/drafts"),
        ("april", "post", "/releases/drafts"),
        ("ana", "get", "/audit"),
        ("ana", "get", "/audit.csv"),
        ("ana", "get", "/users"),
        ("april", "post", "/profile/proposals"),
        ("adam", "post", "/uploads"),
        ("april", "get", "/uploads"),  # an upload's report quotes refused rows
        ("audrey", "get", "/uploads/1"),
    ],
)
def test_a_role_without_the_right_is_refused_403_and_recorded(
    app: Console, ingested_city: tuple[Engine, Engine], who: str, method: str, path: str
) -> None:
    internal, _ = ingested_city
    with person(app, who) as someone:
        answer = someone.get(path) if method == "get" else someone.post(path, period=PERIOD)
    assert answer.status_code == 403
    actor, action, detail = audit_lines(internal)[-1]
    assert (actor, action) == (who, "refused")
    assert json.loads(detail)["path"] == path


def test_a_draft_built_against_a_changed_profile_is_not_published(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with (
        person(app, "ana") as ana,
        person(app, "april") as april,
        person(app, "adam") as adam,
        person(app, "ada") as ada,
    ):
        draft = draft_id(ana.post("/releases/drafts", period=PERIOD, policy="quarterly"))
        current = adam.get("/profile").text
        assert "In force: revision" in current
        proposal_text = _profile_text(public).replace('name = "', 'name = "Renamed ', 1)
        assert adam.post("/profile/proposals", text=proposal_text).status_code == 303
        proposal = json.loads(
            [d for _, a, d in audit_lines(internal) if a == "propose profile"][-1]
        )["proposal"]
        own = adam.post(f"/profile/proposals/{proposal}/approve")
        assert own.status_code == 403 and "a second person must" in alert(own)
        assert ada.post(f"/profile/proposals/{proposal}/approve").status_code == 303
        stale = april.post(f"/releases/drafts/{draft}/publish")
    assert stale.status_code == 409
    assert "was built against department profile revision" in alert(stale)
    assert releases_of(public, PERIOD) == []


def _profile_text(public: Engine) -> str:
    from publishing.profile import read_profile

    profile = read_profile(public)
    assert profile is not None
    return profile.to_toml()


def test_a_profile_that_does_not_check_out_is_refused_with_the_reason(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    with person(app, "adam") as adam:
        answer = adam.post("/profile/proposals", text="name = [unclosed")
    assert answer.status_code == 400 and "not valid TOML" in alert(answer)


def test_the_ledger_and_the_audit_log_download_as_csv_for_auditors(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    with person(app, "ana") as ana, person(app, "audrey") as audrey:
        ana.post("/releases/drafts", period=PERIOD, policy="quarterly")
        ledger = audrey.get("/ledger")
        assert ledger.status_code == 200 and PERIOD in ledger.text
        ledger_csv = audrey.get("/ledger.csv")
        audit_csv = audrey.get("/audit.csv")
    assert ledger_csv.headers["content-type"].startswith("text/csv")
    rows = ledger_csv.text.splitlines()
    assert rows[0].startswith("period,unit,currency,cap,source,source_spent")
    assert {r.split(",")[0] for r in rows[1:]} == {PERIOD}
    assert {r.split(",")[4] for r in rows[1:]} == {"stops", "incidents", "force"}
    assert all(r.endswith(",0,1,0") for r in rows[1:])  # none published, one draft, none lost
    lines = audit_csv.text.splitlines()
    assert lines[0] == "id,at_utc,actor,action,detail"
    assert any(",ana,build draft," in line for line in lines)
    assert any(",audrey,sign in," in line for line in lines)


def test_the_audit_log_cannot_be_changed_or_deleted(
    ingested_city: tuple[Engine, Engine],
) -> None:
    internal, _ = ingested_city
    add_people(internal)
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), internal.begin() as connection:
            connection.execute(text(statement))
    assert len(audit_lines(internal)) > 0


def test_passwords_are_argon2_hashed_long_and_not_common(
    ingested_city: tuple[Engine, Engine],
) -> None:
    from portal.admin.accounts import AccountError, add_user

    internal, _ = ingested_city
    for password, why in (
        ("short one", "at least 12 characters"),
        ("password1234", "common passwords"),
        ("iloveyou2024!", "common passwords"),
        ("zoey-is-the-best", "account's name"),
        ("aaaaaaaaaaaa", "too easy to guess"),
        (" " * 12, "too easy to guess"),
        ("qwertyuiopasdf", "too easy to guess"),
    ):
        with pytest.raises(AccountError, match=why):
            add_user(internal, "zoey", "analyst", password, actor="test")
    add_user(internal, "zoey", "analyst", PASSWORD, actor="test")
    with pytest.raises(AccountError, match="already an account"):
        add_user(internal, "zoey", "auditor", PASSWORD, actor="test")
    with internal.connect() as connection:
        stored = connection.execute(
            select(ConsoleUser.password_hash).where(ConsoleUser.name == "zoey")
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_an_upload_is_checked_then_committed_whole_or_by_its_valid_rows_only(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    good = minneapolis_stops(300)
    bad = good.replace(b"2017-", b"20x7-", 2)  # two rows with a date nobody can read
    with person(app, "ana") as ana:
        sent = ana.upload("/uploads", "stops", "minneapolis-stops", "stops.csv", bad)
        assert sent.status_code == 303
        page = sent.headers["location"]
        wait_idle(app.state)
        report = ana.get(page).text
        assert "Rows read: 300" in report and "Rows refused: 2" in report
        assert "Refused rows, grouped by reason" in report and "20x7-" in report
        assert "Accepted records per month" in report
        whole = ana.post(f"{page}/commit")
        assert whole.status_code == 409 and "only the valid rows" in alert(whole)
        assert ana.post(f"{page}/commit", valid_only="yes").status_code == 303
        wait_idle(app.state)
        done = ana.get(page).text
        assert "Status: committed" in done and "Records written: 298" in done
    committed = [json.loads(d) for _, a, d in audit_lines(internal) if a == "commit upload"]
    assert committed == [{"rows_rejected": 2, "upload": 1, "valid_rows_only": True}]


def test_uploads_that_are_not_csv_or_too_large_are_refused_and_recorded(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "ana") as ana:
        sheet = ana.upload(
            "/uploads",
            "stops",
            "minneapolis-stops",
            "stops.xlsx",
            b"PK\x03\x04 a spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        disguised = ana.upload(
            "/uploads",
            "stops",
            "minneapolis-stops",
            "stops.csv",
            b"PK\x03\x04 an archive named .csv",
        )
        large = ana.upload(
            "/uploads", "stops", "minneapolis-stops", "stops.csv", b"a,b\n" + b"1,2\n" * 100_000
        )
        wrong_mapping = ana.upload(
            "/uploads", "stops", "minneapolis-force", "stops.csv", minneapolis_stops(5)
        )
    assert (sheet.status_code, disguised.status_code, large.status_code) == (415, 415, 413)
    assert "is not a CSV file" in alert(sheet) and "not text" in alert(disguised)
    assert "larger than the limit" in alert(large)
    assert wrong_mapping.status_code == 400 and "is for force, not stops" in alert(wrong_mapping)
    refusals = [json.loads(d) for _, a, d in audit_lines(internal) if a == "refused"]
    assert [r["step"] for r in refusals] == ["upload", "upload", "upload", "upload"]


def test_admins_manage_accounts_and_never_their_own_role(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "adam") as adam, person(app, "ada") as ada:
        weak = adam.post("/users", name="newbie", role="analyst", password="password")
        assert weak.status_code == 400 and "at least 12 characters" in alert(weak)
        assert (
            adam.post("/users", name="newbie", role="analyst", password=PASSWORD).status_code == 303
        )
        with person(app, "newbie", signed_in=False) as newbie:
            assert newbie.sign_in().status_code == 401  # not enabled yet
        own = adam.post("/users/newbie/enable")
        assert own.status_code == 403 and "another admin must" in alert(own)
        assert ada.post("/users/newbie/enable").status_code == 303
        with person(app, "newbie", signed_in=False) as newbie:
            assert newbie.sign_in().status_code == 303
        assert adam.post("/users/nobody/role", role="auditor").status_code == 404
        assert ada.post("/users/newbie/role", role="auditor").status_code == 303
        assert adam.post("/users/adam/role", role="analyst").status_code == 409
        assert adam.post("/users/newbie/disable").status_code == 303
    with person(app, "newbie", signed_in=False) as newbie:
        assert newbie.sign_in().status_code == 401  # disabled
    actions = [a for _, a, _ in audit_lines(internal)]
    assert {"add user", "enable user", "change role", "disable user"} <= set(actions)


def test_public_store_is_untouched_until_publication(
    app: Console, console_city: Settings, ingested_city: tuple[Engine, Engine]
) -> None:
    public = public_engine(console_city)
    try:
        with person(app, "ana") as ana:
            ana.post("/releases/drafts", period=PERIOD, policy="quarterly")
        assert load_catalog(public).releases == ()
    finally:
        public.dispose()


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("ana", "/"),
        ("ana", "/uploads"),
        ("ana", "/releases"),
        ("ana", "/releases/plan"),
        ("ana", "/ledger"),
        ("ana", "/profile"),
        ("audrey", "/audit"),
        ("audrey", "/ledger.csv"),
        ("adam", "/users"),
    ],
)
def test_every_page_answers_for_a_role_that_may_read_it(app: Console, who: str, path: str) -> None:
    with person(app, who) as someone:
        answer = someone.get(path)
    assert answer.status_code == 200, answer.text


def test_a_drafts_report_can_be_read_before_it_is_published(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    _, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        draft = draft_id(ana.post("/releases/drafts", period=PERIOD, policy="quarterly"))
        answer = april.get(f"/releases/drafts/{draft}/report.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    words = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(BytesIO(answer.content)).pages)
    )
    with app.state.internal.connect() as connection:
        content = content_from_json(
            connection.execute(
                select(ReleaseDraft.content).where(ReleaseDraft.id == draft)
            ).scalar_one()
        )
    [stops] = [t for t in content.tables if t.name == "stops_in_quarter"]
    (cell,) = stops.cells
    assert f"{cell.value:,} ({cell.ci_low:,} to {cell.ci_high:,})" in words  # the draft's own
    assert content.content_hash() in words.replace(" ", "")
    assert releases_of(public, PERIOD) == []  # reading it published nothing


def test_sign_in_is_throttled_per_address_whatever_the_names_tried(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    from portal.admin.accounts import FAILURES_PER_ADDRESS

    internal, _ = ingested_city
    with person(app, "guesser", signed_in=False) as guesser:
        for attempt in range(FAILURES_PER_ADDRESS):
            guessed = guesser.post("/login", name=f"user{attempt}", password="not a password")
            assert guessed.status_code == 401
        with person(app, "ana", signed_in=False) as ana:  # the same address, a real account
            refused = ana.sign_in()
    assert refused.status_code == 429
    assert audit_lines(internal)[-1][:2] == ("ana", "sign-in throttled")


def test_the_decision_is_recorded_before_the_public_store_is_touched_and_undone_if_it_fails(
    app: Console, ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    import privacy.release.drafts as drafts

    internal, public = ingested_city
    with person(app, "ana") as ana:
        draft = draft_id(ana.post("/releases/drafts", period=PERIOD, policy="quarterly"))
    seen: list[str] = []

    def public_store_down(*args: object, **kwargs: object) -> str:
        with internal.connect() as connection:  # what a second approver would find now
            seen.append(
                connection.execute(
                    select(ReleaseDraft.status).where(ReleaseDraft.id == draft)
                ).scalar_one()
            )
        raise RuntimeError("the public store is down")

    monkeypatch.setattr(drafts, "write_release_in", public_store_down)
    with pytest.raises(RuntimeError, match="down"):
        drafts.publish_draft(internal, public, draft, approver="april")
    assert seen == ["published"]  # claimed first: a rejection meanwhile would be refused
    assert drafts.get_draft(internal, draft).status == "draft"  # and undone
    monkeypatch.undo()
    drafts.reject_draft(internal, draft, approver="arthur", reason="checked twice")
    with pytest.raises(drafts.DraftRefused, match="already rejected"):
        drafts.publish_draft(internal, public, draft, approver="april")
    assert releases_of(public, PERIOD) == []


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"period": "2025-3", "policy": "quarterly"}, 400, "is not a quarter"),
        ({"period": PERIOD, "policy": "../../etc/passwd"}, 400, "no policy named"),
        ({"period": "2999Q1", "policy": "quarterly"}, 409, "has not ended yet"),
    ],
)
def test_a_malformed_request_is_a_400_and_one_that_cannot_be_met_now_a_409(
    app: Console, form: dict[str, str], status: int, words: str
) -> None:
    with person(app, "ana") as ana:
        answer = ana.post("/releases/drafts", **form)
    assert answer.status_code == status and words in alert(answer)


def test_visitors_leave_no_session_behind_and_signing_out_is_not_expiry(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "audrey", signed_in=False) as visitor:
        for _ in range(3):
            visitor.get("/login")
    with internal.connect() as connection:
        assert connection.execute(select(ConsoleSession.key)).all() == []
    with person(app, "audrey") as audrey:
        with internal.connect() as connection:
            [key] = connection.execute(select(ConsoleSession.key)).scalars()
        assert key != audrey.cookies.get(SESSION_COOKIE)  # only its hash is kept
        audrey.post("/logout")
        after = audrey.get("/ledger")
    assert after.status_code == 401 and alert(after) == "Sign in to use the console."


def test_a_correction_whose_notice_cannot_be_written_publishes_nothing(
    app: Console, ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    import privacy.release.drafts as drafts
    from publishing.notices import NoticeRefused

    internal, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        old = published_half(ana, april, public)
        fix = draft_id(
            ana.post(f"/releases/{old}/correct", period=PERIOD, policy=HALVES, reason="fixed")
        )

    def already_noticed(*args: object) -> None:
        raise NoticeRefused(f"release {old[:12]} is already withdrawn")

    monkeypatch.setattr(drafts, "write_notice_in", already_noticed)
    with pytest.raises(drafts.DraftRefused, match="nothing was published"):
        drafts.publish_draft(internal, public, fix, approver="arthur")
    assert releases_of(public, PERIOD) == [old]  # the release and its notice, or neither
    assert drafts.get_draft(internal, fix).status == "draft"


def test_one_open_correction_per_release_and_a_stale_request_can_be_cancelled(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, public = ingested_city
    with person(app, "ana") as ana, person(app, "april") as april:
        old = published_half(ana, april, public)
        april.post(f"/releases/{old}/withdraw", reason="a wrong district")
        spent = period_budgets(internal)[0].spent
        blocked = ana.post(f"/releases/{old}/correct", period=PERIOD, policy=HALVES, reason="x")
        assert blocked.status_code == 409 and "awaits a second approver" in alert(blocked)
        assert period_budgets(internal)[0].spent == spent  # refused before any charge
        twice = april.post(f"/releases/{old}/withdraw", reason="again")
        assert twice.status_code == 409
        correction = json.loads(
            [d for _, a, d in audit_lines(internal) if a == "request withdrawal"][-1]
        )["correction"]
        assert april.post(f"/corrections/{correction}/cancel").status_code == 303
        again = ana.post(f"/releases/{old}/correct", period=PERIOD, policy=HALVES, reason="x")
        assert again.status_code == 303
    assert ("april", "cancel withdrawal") in [(a, b) for a, b, _ in audit_lines(internal)]


def test_the_database_keeps_one_pending_draft_per_quarter_whatever_the_process(
    ingested_city: tuple[Engine, Engine],
) -> None:
    from sqlalchemy.exc import IntegrityError

    internal, _ = ingested_city
    row = {
        "period": PERIOD,
        "policy_name": "quarterly",
        "built_by": "ana",
        "built_at": utc_now(),
        "status": "draft",
        "content": b"{}",
    }
    with internal.begin() as connection:
        connection.execute(ReleaseDraft.__table__.insert().values(id="a" * 32, **row))
    with pytest.raises(IntegrityError), internal.begin() as connection:
        connection.execute(ReleaseDraft.__table__.insert().values(id="b" * 32, **row))
    with internal.begin() as connection:  # a decided draft does not count
        connection.execute(
            ReleaseDraft.__table__.insert().values(id="c" * 32, **row | {"status": "rejected"})
        )


def test_an_admin_cannot_change_the_role_of_an_account_they_made(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    with person(app, "adam") as adam, person(app, "ada") as ada:
        adam.post("/users", name="xapp", role="analyst", password=PASSWORD)
        ada.post("/users/xapp/enable")
        own = adam.post("/users/xapp/role", role="approver")
        assert own.status_code == 403 and "another admin must" in alert(own)
        assert ada.post("/users/xapp/role", role="approver").status_code == 303


def test_a_long_passphrase_is_welcome(ingested_city: tuple[Engine, Engine]) -> None:
    from portal.admin.accounts import add_user

    passphrase = "the violet harbour engine drifts past seven quiet lighthouses at dawn " * 2
    add_user(ingested_city[0], "poet", "analyst", passphrase, actor="test")


def test_the_plan_of_a_malformed_quarter_is_the_form_again_with_a_400(app: Console) -> None:
    with person(app, "ana") as ana:
        answer = ana.get("/releases/plan", period="garbage", policy="quarterly")
        unknown = ana.get("/releases/plan", period=PERIOD, policy="nope")
    assert answer.status_code == 400 and "is not a quarter" in answer.text
    assert unknown.status_code == 400 and "no policy named" in unknown.text


def test_an_expired_session_says_so_until_its_owner_signs_in_again(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with person(app, "audrey") as audrey:
        with internal.begin() as connection:
            connection.execute(
                update(ConsoleSession).values(expires_at=utc_now() - timedelta(seconds=1))
            )
        first, second = audrey.get("/ledger"), audrey.get("/audit")
    assert "expired" in alert(first) and "expired" in alert(second)


@pytest.mark.parametrize(
    "period", ["\uff12\uff10\uff12\uff15Q2", "9999Q4", "0001Q1", "2025q5", "2025Q2 x"]
)
def test_a_quarter_is_spelled_one_way_and_falls_in_sensible_years(
    app: Console, ingested_city: tuple[Engine, Engine], period: str
) -> None:
    internal, _ = ingested_city
    with person(app, "ana") as ana:
        planned = ana.get("/releases/plan", period=period, policy="quarterly")
        built = ana.post("/releases/drafts", period=period, policy="quarterly")
    assert planned.status_code == 400 and built.status_code == 400, built.text
    assert period_budgets(internal) == []  # nothing charged


def test_an_account_made_in_the_console_sets_its_own_password_before_anything_else(
    app: Console, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    own = "amber orchard river signal nine"
    with person(app, "adam") as adam, person(app, "ada") as ada:
        adam.post("/users", name="carol", role="auditor", password=PASSWORD)
        ada.post("/users/carol/enable")
    with person(app, "carol", signed_in=False) as carol:
        signed = carol.sign_in()
        assert signed.headers["location"] == "/password"
        blocked = carol.get("/ledger")
        assert blocked.status_code == 403 and "password of your own first" in alert(blocked)
        wrong = carol.post("/password", current="not it at all", new=own, again=own)
        assert wrong.status_code == 400 and "current password is wrong" in alert(wrong)
        same = carol.post("/password", current=PASSWORD, new=PASSWORD, again=PASSWORD)
        assert same.status_code == 400
        assert carol.post("/password", current=PASSWORD, new=own, again=own).status_code == 303
        assert carol.get("/ledger").status_code == 200
    with person(app, "carol", signed_in=False) as carol:
        assert carol.sign_in(PASSWORD).status_code == 401  # the maker's password is gone
        assert carol.sign_in(own).headers["location"] == "/"
    assert ("carol", "change password") in [(a, b) for a, b, _ in audit_lines(internal)]
