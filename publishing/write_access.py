"""What a connection could change in a store: the public site must find nothing.

On PostgreSQL the answer comes from the catalogs, for the connection's role and every role
it may ``SET ROLE`` to: superuser (or the right to create roles or databases), INSERT,
UPDATE, DELETE or TRUNCATE on a table, the right to advance or reset a sequence, CREATE on
the database or one of its schemas, and anything it owns there (an owner may alter or drop
what it owns, whatever it was granted). On SQLite a write is tried inside a transaction
that is rolled back: a file opened read-only refuses it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

# Objects of PostgreSQL itself, which no role of ours is meant to reach.
_USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
# The roles whose rights the role :who has, or may take with SET ROLE (itself included).
_ROLES = "SELECT oid, rolname FROM pg_roles WHERE pg_has_role(:who, oid, 'MEMBER')"
_SHOWN = 5  # objects named per kind of right; the rest are counted

_ATTRIBUTES = f"""
SELECT r.rolname,
       concat_ws(', ',
                 CASE WHEN a.rolsuper THEN 'superuser' END,
                 CASE WHEN a.rolcreaterole THEN 'CREATEROLE' END,
                 CASE WHEN a.rolcreatedb THEN 'CREATEDB' END)
FROM ({_ROLES}) r JOIN pg_roles a ON a.oid = r.oid
WHERE a.rolsuper OR a.rolcreaterole OR a.rolcreatedb
ORDER BY r.rolname
"""

_TABLE_RIGHTS = f"""
SELECT DISTINCT p.privilege, format('%I.%I', n.nspname, c.relname) AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN ({_ROLES}) r
CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) p(privilege)
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMAS}
  AND CASE WHEN p.privilege IN ('INSERT', 'UPDATE')
           THEN has_any_column_privilege(r.oid, c.oid, p.privilege)
           ELSE has_table_privilege(r.oid, c.oid, p.privilege) END
UNION
SELECT DISTINCT p.privilege || ' (sequence)', format('%I.%I', n.nspname, c.relname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN ({_ROLES}) r
CROSS JOIN (VALUES ('USAGE'), ('UPDATE')) p(privilege)
WHERE c.relkind = 'S' AND {_USER_SCHEMAS}
  AND has_sequence_privilege(r.oid, c.oid, p.privilege)
ORDER BY 1, 2
"""

_CREATE_RIGHTS = f"""
SELECT format('database %I', current_database())
WHERE EXISTS (
    SELECT 1 FROM ({_ROLES}) r WHERE has_database_privilege(r.oid, current_database(), 'CREATE')
)
UNION ALL
SELECT format('schema %I', n.nspname)
FROM pg_namespace n
WHERE {_USER_SCHEMAS}
  AND EXISTS (SELECT 1 FROM ({_ROLES}) r WHERE has_schema_privilege(r.oid, n.oid, 'CREATE'))
"""

# pg_shdepend records every owner but PostgreSQL's own pinned roles (the bootstrap
# superuser, whom the superuser check covers, and the predefined roles).
_OWNED = f"""
SELECT pg_describe_object(d.classid, d.objid, d.objsubid), r.rolname
FROM pg_shdepend d
JOIN ({_ROLES}) r ON r.oid = d.refobjid
WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o'
  AND (d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       OR (d.classid = 'pg_database'::regclass
           AND d.objid = (SELECT oid FROM pg_database WHERE datname = current_database())))
ORDER BY 1
"""


def write_access(engine: Engine, role: str | None = None) -> list[str]:
    """What ``role`` (default: the engine's own connection) could change in the store at
    ``engine``, one line per kind of right; an empty list when it can only read."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            who = role or connection.execute(text("SELECT current_user")).scalar_one()
            return _postgres_rights(connection, who)
        if connection.dialect.name == "sqlite":
            return _sqlite_rights(connection)
    return [f"the {engine.dialect.name} store's privileges cannot be checked"]


def _postgres_rights(connection: Connection, who: str) -> list[str]:
    found: list[str] = []
    args = {"who": who}
    for name, attributes in connection.execute(text(_ATTRIBUTES), args):
        if name == who and "superuser" in attributes:
            return ["is a superuser"]  # which says everything
        through = "" if name == who else f" (through role {name!r})"
        found.append(f"is {attributes}{through}")
    rights: dict[str, list[str]] = {}
    for privilege, table in connection.execute(text(_TABLE_RIGHTS), args):
        rights.setdefault(table, []).append(privilege)
    by_rights: dict[str, list[str]] = {}
    for table, privileges in rights.items():
        by_rights.setdefault(", ".join(privileges), []).append(table)
    found.extend(f"has {privileges} on {_some(names)}" for privileges, names in by_rights.items())
    created = list(connection.execute(text(_CREATE_RIGHTS), args).scalars())
    if created:
        found.append(f"has CREATE on {_some(created)}")
    owned = [
        what if owner == who else f"{what} (through role {owner!r})"
        for what, owner in connection.execute(text(_OWNED), args)
    ]
    if owned:
        found.append(f"owns {_some(owned)}")
    return found


def _sqlite_rights(connection: Connection) -> list[str]:
    # PRAGMA statements do not open the driver's implicit transaction: open one, so the
    # write tried below is rolled back when it succeeds.
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute("BEGIN")
        version = cursor.execute("PRAGMA user_version").fetchone()[0]
        cursor.execute(f"PRAGMA user_version = {int(version)}")
    except Exception as error:  # the read-only file refuses, which is what we hope for
        if "readonly" not in str(error).replace("-", "").replace(" ", "").lower():
            raise
        return []
    finally:
        raw.rollback()
        cursor.close()
    return ["can write to the file (it is not opened read-only)"]


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"
