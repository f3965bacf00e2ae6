"""SVG rendering through kaleido and Debian's Chromium: one browser per batch, text kept as
text, and a clear error naming the package when the browser is missing."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import plotly.graph_objects as go
import pytest
from choreographer.browsers import Chromium
from choreographer.channels import JSONError
from choreographer.channels._wire import deserialize

from publishing import svg
from publishing.charts import bar_chart, trend_chart
from publishing.estimates import Estimate
from publishing.svg import CHROMIUM, ChartRenderError, render_svgs

SVG = "{http://www.w3.org/2000/svg}"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
)


def _estimate(value: float) -> Estimate:
    return Estimate(value, value - 4, value + 4, 2.0)


def _figures() -> list[go.Figure]:
    trend = trend_chart(
        "stops-trend",
        "Stops by quarter",
        "",
        "stops",
        [
            (
                "Citywide",
                [
                    ("2024 Q1", _estimate(120)),
                    ("2024 Q2", _estimate(135)),
                    ("2024 Q3", _estimate(128)),
                ],
            ),
        ],
    )
    bars = bar_chart(
        "stops-area",
        "Stops by area",
        "",
        "stops",
        [
            ("2024 Q3", [("North", _estimate(40)), ("South", _estimate(55))]),
        ],
    )
    return [trend.figure, bars.figure]


@needs_chromium
def test_one_browser_draws_the_whole_batch_as_svg_text(monkeypatch: pytest.MonkeyPatch) -> None:
    launches: list[Chromium] = []
    pre_open = Chromium.pre_open

    def counting_pre_open(self: Chromium) -> None:  # runs once per browser process started
        launches.append(self)
        pre_open(self)

    monkeypatch.setattr(Chromium, "pre_open", counting_pre_open)

    results = render_svgs(_figures(), width=640, height=360)

    assert len(launches) == 1
    assert len(results) == 2
    for text, title in zip(results, ("Stops by quarter", "Stops by area"), strict=True):
        root = ET.fromstring(text)
        assert root.tag == f"{SVG}svg"
        assert (root.get("width"), root.get("height")) == ("640", "360")
        texts = [element for element in root.iter(f"{SVG}text") if element.text]
        title_text = next(element for element in texts if element.text == title)
        assert "Liberation Sans" in (title_text.get("style") or "")
    assert "North" in results[1]


def test_missing_browser_names_the_package(tmp_path: Path) -> None:
    missing = tmp_path / "no-chromium-here"
    with pytest.raises(ChartRenderError) as caught:
        render_svgs(_figures(), browser=missing)
    message = str(caught.value)
    assert "apt-get install chromium" in message
    assert "Debian's chromium package" in message
    assert str(missing) in message


def test_browser_that_will_not_start_names_the_package(tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    with pytest.raises(ChartRenderError, match=r"apt-get install chromium") as caught:
        render_svgs(_figures()[:1], browser=broken)
    assert str(broken) in str(caught.value)


def test_nothing_to_draw_starts_nothing() -> None:
    assert render_svgs([], browser=Path("/nonexistent")) == []
    assert svg.INSTALL_HINT == "install Debian's chromium package (apt-get install chromium)"


def test_chromiums_goodbye_is_not_reported_but_any_other_undecodable_message_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What choreographer's pipe does with a message it cannot decode, for Chromium's goodbye
    # as it closes and for anything else.
    pipe = logging.getLogger("choreographer.channels.pipe")
    for message in ("{bye}\n", "{not json at all"):
        try:
            deserialize(message)
        except JSONError:
            pipe.exception("JSONError decoding message. Ignoring")
    reported = [r.exc_info[1].__cause__ for r in caplog.records if r.exc_info and r.exc_info[1]]
    assert [getattr(cause, "doc", None) for cause in reported] == ["{not json at all"]
