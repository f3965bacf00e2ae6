"""``truth.json``: the seed, the parameters and the true effects the city was generated with."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from privacy.synth import model
from privacy.synth import tables as t
from privacy.synth.focus import FocusArea
from privacy.synth.geography import CITY_CODE, CITY_NAME, Geography
from privacy.synth.model import Intensities
from privacy.synth.records import StopStats
from privacy.synth.timeline import PEAK_MONTH, Timeline

IntArray = npt.NDArray[np.int64]
NO_ACTION_DEFINITION = "outcome is none and contraband_found is not yes"


def _focus(geo: Geography, area: FocusArea) -> dict[str, Any]:
    spec = area.spec
    return {
        "code": spec.code,
        "name": area.name,
        "member_beats": [geo.beat_codes[b] for b in area.members],
        "comparison_beats": [geo.beat_codes[b] for b in area.comparison],
        "buffer_beats": [geo.beat_codes[b] for b in area.buffer],
        "intervention_start": area.start.isoformat(),
        "intervention_end": area.end.isoformat() if area.end else None,
        "effects": {
            "incidents_member": spec.crime_effect,
            "stops_member": spec.stop_effect,
            "incidents_buffer": spec.buffer_crime_effect,
            "stops_buffer": spec.buffer_stop_effect,
            "incidents_comparison": 1.0,
            "stops_comparison": 1.0,
        },
    }


def _concentration(
    geo: Geography, intensity: npt.NDArray[np.float64], counts: IntArray
) -> dict[str, Any]:
    per_beat = counts.sum(axis=0)
    top = np.argsort(-per_beat, kind="stable")[: model.n_top_beats(geo.n_beats)]
    return {
        "top_beat_fraction": model.TOP_BEAT_FRACTION,
        "top_beats": model.n_top_beats(geo.n_beats),
        "expected": round(model.expected_top_share(intensity), 6),
        "realised": round(model.realised_top_share(counts), 6),
        "realised_top_beats": [geo.beat_codes[b] for b in sorted(top)],
    }


def build_truth(
    *,
    seed: int,
    parameters: dict[str, Any],
    geo: Geography,
    timeline: Timeline,
    areas: tuple[FocusArea, ...],
    intensities: Intensities,
    counts: dict[str, IntArray],
    stop_stats: StopStats,
    rows: dict[str, int],
) -> dict[str, Any]:
    """The truth document: what later estimates can be checked against."""
    start: date = timeline.start
    return {
        "generator": "privacy.synth",
        "seed": seed,
        "parameters": {**parameters, "end": timeline.end.isoformat(), "start": start.isoformat()},
        "city": {
            "code": CITY_CODE,
            "name": CITY_NAME,
            "districts": len(geo.district_codes),
            "beats": geo.n_beats,
            "population": int(geo.population.sum()),
        },
        "focus_areas": [_focus(geo, area) for area in areas],
        "incidents": {
            "seasonality_amplitude": model.INCIDENT_SEASONALITY,
            "seasonality_peak_month": PEAK_MONTH,
            "propensity_scale": round(intensities.scale, 6),
            "concentration": _concentration(geo, intensities.incidents, counts["incidents"]),
        },
        "stops": {
            "annual_decline": model.annual_decline(),
            "seasonality_amplitude": model.STOP_SEASONALITY,
            "seasonality_peak_month": PEAK_MONTH,
            "no_action_share": {
                "definition": NO_ACTION_DEFINITION,
                "start": t.NO_ACTION_START,
                "end": t.NO_ACTION_END,
                "shape": "linear in time",
            },
            "concentration": _concentration(geo, intensities.stops, counts["stops"]),
            "realised_by_year": stop_stats.summary(),
        },
        "force": {
            "share_of_arrests_with_force_flag": t.FORCE_IF_ARREST,
            "district_factor": {
                code: round(float(f), 6)
                for code, f in zip(geo.district_codes, geo.force_factor, strict=True)
            },
        },
        "rows": rows,
    }
