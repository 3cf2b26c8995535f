"""A generated stand-in for seed 000's promotion table (the real one cannot be
downloaded here): the same 14 columns and types, nulls where the real data has
them, and a minority positive class of about 8.5%."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEPARTMENTS = ["Sales & Marketing", "Operations", "Technology", "Procurement", "Analytics",
               "Finance", "HR", "Legal", "R&D"]
EDUCATION = ["Bachelor's", "Master's & above", "Below Secondary"]


def promotion_frame(n: int = 3000, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    education = rng.choice(EDUCATION, n, p=[0.68, 0.28, 0.04]).astype(object)
    education[rng.random(n) < 0.044] = None
    length_of_service = rng.integers(1, 38, n)
    rating = rng.integers(1, 6, n).astype(float)
    rating[length_of_service == 1] = np.nan  # no previous year for first-year staff
    kpis = (rng.random(n) < 0.35).astype(int)
    awards = (rng.random(n) < 0.023).astype(int)
    score = rng.integers(39, 100, n)
    channel = rng.choice(["other", "sourcing", "referred"], n, p=[0.555, 0.424, 0.021])
    logit = (-4.2 + 1.7 * kpis + 2.2 * awards + 0.06 * (score - 63)
             + 0.25 * np.nan_to_num(rating - 3) + 0.3 * (education == "Master's & above")
             + 0.5 * (channel == "referred"))
    promoted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "employee_id": rng.permutation(np.arange(10_000, 10_000 + n)),
        "department": rng.choice(DEPARTMENTS, n),
        "region": [f"region_{i}" for i in rng.integers(1, 35, n)],
        "education": education,
        "gender": rng.choice(["m", "f"], n, p=[0.7, 0.3]),
        "recruitment_channel": channel,
        "no_of_trainings": rng.integers(1, 6, n),
        "age": rng.integers(20, 61, n),
        "previous_year_rating": rating,
        "length_of_service": length_of_service,
        "KPIs_met >80%": kpis,
        "awards_won?": awards,
        "avg_training_score": score,
        "is_promoted": promoted,
    })


def write_promotion_csv(path: Path, n: int = 3000, seed: int = 0) -> Path:
    promotion_frame(n, seed).to_csv(path, index=False)
    return path
