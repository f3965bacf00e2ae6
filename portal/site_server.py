"""The public site's own process, which ``portal serve`` becomes once it has checked that
the site can only read: uvicorn in this process, or in worker processes that die with it.

Its environment holds the site's URL (``PORTAL_SITE_DB_URL``) and nothing of the internal
side; it reads its settings from there like any other process.
"""

from __future__ import annotations

import argparse

from portal.settings import Settings

# How long a worker told to stop waits for the requests it is answering before it closes
# them: a slow or stalled client must not keep a worker, and the port, past its parent.
GRACEFUL_SHUTDOWN_SECONDS = 5


def main(argv: list[str] | None = None) -> None:
    """Serve the site: ``--host``, ``--port``, ``--workers`` (what ``portal serve`` was
    given), settings from the environment."""
    parser = argparse.ArgumentParser(prog="portal.site_server")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    run(Settings.from_env(), host=args.host, port=args.port, workers=args.workers)


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run the site until SIGINT or SIGTERM: in this process, or in ``workers`` processes
    that each build the app from this process's environment."""
    import uvicorn

    from portal.web.headers import uvicorn_options

    # uvicorn sends the security headers on every response, its own errors included; the
    # app is built without its own copy.
    if workers == 1:
        from portal.web.app import create_app

        uvicorn.run(
            create_app(settings, security_headers=False),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            **uvicorn_options(),
        )
        return
    uvicorn.run(
        # Each worker calls this factory as it starts; it ties the worker's life to this
        # process's (publishing.lifeline), so killing this process stops every worker.
        "portal.web.app:app_from_environment_for_uvicorn",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main()
