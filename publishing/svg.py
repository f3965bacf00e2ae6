"""Plotly figures as SVG text, drawn by kaleido in Debian's Chromium.

One call of :func:`render_svgs` starts one headless Chromium (through kaleido and
choreographer), draws every figure it is given in that browser, and closes it again: the
browser start (a few seconds) is paid once per batch, not once per chart.

The browser is named explicitly (``browser=``, by default :data:`CHROMIUM`, the path Debian's
``chromium`` package installs), so kaleido never searches for one and never offers to
download Chrome. It runs headless, without extensions, GPU or sandbox, and with flags that
keep it off the network: the page it loads and plotly.js (the copy shipped inside the
plotly package) are local files, MathJax (which kaleido would fetch from a CDN) is turned
off, every host name fails to resolve and anything else goes to a proxy that does not
exist. Text stays text in the SVG (``<text>`` elements in the font the figure names, such
as Liberation Sans), so it can be searched, read aloud and restyled.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import plotly
import plotly.graph_objects as go
from choreographer.browsers import ChromeNotFoundError, Chromium
from kaleido import Kaleido

CHROMIUM = Path("/usr/bin/chromium")
"""Where Debian's ``chromium`` package puts the browser."""

INSTALL_HINT = "install Debian's chromium package (apt-get install chromium)"

RENDER_TIMEOUT = 60.0
"""Seconds allowed for drawing any one figure."""

# A proxy that cannot answer (port 9 is "discard"; nothing listens there): requests that
# escape the host-resolver rule below (IP literals) fail at once instead of going out.
_DEAD_PROXY = "http://127.0.0.1:9"
_OFFLINE_FLAGS = (
    "--disable-background-networking",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-bypass-list=<-loopback>",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--safebrowsing-disable-auto-update",
)

# The site's own plotly.js build (scatter and bar traces, the only ones the charts use): the
# same renderer as the web pages, and a quarter of the full bundle's size, which matters
# because kaleido reloads it for every figure. The plotly package's full bundle (the same
# plotly.js version) is the fallback.
_SITE_PLOTLY_JS = Path(__file__).resolve().parents[1] / "static" / "vendor" / "plotly-basic.min.js"
_PLOTLY_JS = (
    _SITE_PLOTLY_JS
    if _SITE_PLOTLY_JS.is_file()
    else Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
)

_T = TypeVar("_T")


class _BrowserGoodbye(logging.Filter):
    """Drops choreographer's report of Chromium's goodbye: ``{bye}``, written down the pipe
    as the browser closes, is not JSON, so choreographer logs it with a traceback and
    ignores it. Nothing failed, yet the traceback could land in the output of a command
    that builds reports. Any other message it cannot decode is still reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        undecoded = getattr(getattr(error, "__cause__", None), "doc", None)
        return not (isinstance(undecoded, str) and undecoded.strip() == "{bye}")


logging.getLogger("choreographer.channels.pipe").addFilter(_BrowserGoodbye())


class ChartRenderError(RuntimeError):
    """Chromium is missing or would not start, or a figure could not be drawn."""


class _OfflineChromium(Chromium):
    """choreographer's Chromium with extra flags that keep it off the network."""

    def get_cli(self) -> list[str]:
        return [*super().get_cli(), *_OFFLINE_FLAGS]


def render_svg(
    figure: go.Figure, *, width: int = 800, height: int = 450, browser: Path = CHROMIUM
) -> str:
    """One figure as SVG text (starts and stops a browser: prefer :func:`render_svgs`)."""
    return render_svgs([figure], width=width, height=height, browser=browser)[0]


def render_svgs(
    figures: Sequence[go.Figure], *, width: int = 800, height: int = 450, browser: Path = CHROMIUM
) -> list[str]:
    """Each figure as SVG text (``<svg ...>...</svg>``), in order, ``width`` by ``height``
    pixels, all drawn in one browser started for this call and closed before it returns.

    Callable from ordinary synchronous code, and also from inside a running event loop
    (the work then runs on a thread with a loop of its own). Raises
    :class:`ChartRenderError` when Chromium is missing or will not start, or when a
    figure cannot be drawn.
    """
    if not figures:
        return []
    _check_browser(browser)
    if not _PLOTLY_JS.is_file():
        raise ChartRenderError(f"plotly.js is missing from the plotly package: {_PLOTLY_JS}")
    return _run(_render_all(list(figures), width, height, browser))


def _check_browser(browser: Path) -> None:
    if not browser.is_file():
        raise ChartRenderError(f"Chromium was not found at {browser}: {INSTALL_HINT}")
    if not os.access(browser, os.X_OK):
        raise ChartRenderError(f"Chromium at {browser} is not executable: {INSTALL_HINT}")


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to the end from synchronous code, with or without a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="svg-render") as pool:
        return pool.submit(asyncio.run, coroutine).result()


class _BatchKaleido(Kaleido):  # type: ignore[misc]
    """Kaleido that keeps its tab between figures of one batch.

    Kaleido reloads the tab (its page and plotly.js) after every figure, to free memory in a
    long-lived server. A report's batch is a few dozen figures drawn with ``newPlot`` into
    the same page, so the reload buys nothing and costs about 0.13 s a figure (measured: 16
    figures in 3.5 s with it, 1.4 s without; the SVGs are the same but for plotly's random
    trace ids). The browser is closed at the end of the batch.
    """

    async def _return_kaleido_tab(self, tab: Any) -> None:
        await self.tabs_ready.put(tab)


async def _render_all(
    figures: list[go.Figure], width: int, height: int, browser: Path
) -> list[str]:
    try:
        kaleido = _BatchKaleido(
            path=str(browser),
            browser_cls=_OfflineChromium,
            n=1,
            timeout=RENDER_TIMEOUT,
            plotlyjs=_PLOTLY_JS.as_uri(),
            mathjax=False,
            headless=True,
            enable_gpu=False,
            enable_extensions=False,
            enable_sandbox=False,
            proxy_server=_DEAD_PROXY,
        )
    except ChromeNotFoundError as error:
        raise ChartRenderError(f"Chromium was not found at {browser}: {INSTALL_HINT}") from error
    try:
        try:
            await kaleido.open()
        except Exception as error:
            # Not choreographer's own message: it suggests downloading Chrome.
            raise ChartRenderError(
                f"Chromium at {browser} did not start ({type(error).__name__}): "
                f"{INSTALL_HINT}, and check that `{browser} --headless --version` runs"
            ) from error
        svgs = []
        for index, figure in enumerate(figures):
            try:
                data = await kaleido.calc_fig(
                    figure, opts={"format": "svg", "width": width, "height": height}
                )
            except Exception as error:
                title = figure.layout.title.text or "untitled"
                raise ChartRenderError(
                    f"could not draw figure {index} ({title!r}) as SVG: "
                    f"{type(error).__name__}: {error}"
                ) from error
            svgs.append(bytes(data).decode("utf-8"))
        return svgs
    finally:
        await kaleido.close()
