"""Admin-tunable thresholds, temperature, calibration choice and learning bounds."""

from __future__ import annotations

from ..tunables import Tunable, register

# should_attempt_fix: below its error type's threshold a patch is never applied automatically.
DEFAULT_THRESHOLDS = {
    "syntax": 0.95,
    "logic": 0.80,
    "runtime": 0.80,
    "performance": 0.85,
    "security": 0.90,
}
METHODS = ("temperature_scaling", "beta_calibration")

GROUP = "Confidence"

for _error_type, _threshold in DEFAULT_THRESHOLDS.items():
    register(
        Tunable(
            f"scoring.threshold.{_error_type}",
            _threshold,
            GROUP,
            f"Confidence at or above which a {_error_type} fix may be applied without a person.",
            min=0.0,
            max=1.0,
        )
    )

register(
    Tunable(
        "scoring.floor",
        0.2,
        GROUP,
        "Below this a patch with no test evidence at all (the sandbox ran no test) is rejected on "
        "its score; a patch with test evidence is never rejected on its score alone.",
        min=0.0,
        max=1.0,
    ),
    Tunable(
        "scoring.temperature",
        1.0,
        GROUP,
        "T in softmax(logits / T) while no temperature has been fitted (we divide by T).",
        min=0.05,
        max=20.0,
    ),
    Tunable(
        "scoring.calibration_method",
        "temperature_scaling",
        GROUP,
        "How scores are calibrated from outcomes.",
        kind=str,
        choices=METHODS,
    ),
    Tunable(
        "scoring.calibration_min_outcomes",
        50,
        GROUP,
        "Outcomes needed before a calibration is fitted; until then scores are labelled uncalibrated.",
        kind=int,
        min=10,
        max=100000,
    ),
    Tunable(
        "scoring.history_prior_mean",
        0.9,
        GROUP,
        "The share of kept patches a source is credited with before its own outcomes here (the "
        "Beta prior's mean; the history factor is the posterior mean relative to it).",
        min=0.05,
        max=0.99,
    ),
    Tunable(
        "scoring.history_prior_strength",
        10.0,
        GROUP,
        "How many outcomes the prior weighs: a handful of a source's outcomes cannot swamp it.",
        min=1.0,
        max=1000.0,
        unit="outcomes",
    ),
    Tunable(
        "scoring.model_min_outcomes",
        50,
        GROUP,
        "Labelled outcomes (with both kept and failed patches, at least 5 of each) needed before "
        "the evidence model is fitted and decides scores; until then the formula decides.",
        kind=int,
        min=20,
        max=100000,
    ),
    Tunable(
        "scoring.pattern_weight",
        0.2,
        GROUP,
        "How much pattern similarity can lower a score: factor = 1 − w + w × similarity.",
        min=0.0,
        max=1.0,
    ),
    Tunable(
        "learning.max_threshold_shift",
        0.05,
        "Learning",
        "Bound set by an admin: learnt thresholds stay within ± this of the admin's threshold (0 turns adaptation off).",
        min=0.0,
        max=0.3,
    ),
    Tunable(
        "learning.target_precision",
        0.9,
        "Learning",
        "Learnt thresholds aim at this share of right patches among those scoring at or above them.",
        min=0.5,
        max=1.0,
    ),
    Tunable(
        "learning.min_outcomes",
        30,
        "Learning",
        "Outcomes of an error type needed before its threshold adapts.",
        kind=int,
        min=5,
        max=100000,
    ),
)
