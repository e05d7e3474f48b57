"""`sim validate-model` regenerates the validation tables and figures of docs/CALIBRATION.md."""

from __future__ import annotations

import pandas as pd

from sim.cli import main


def test_validate_model_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "val"
    assert main(["validate-model", "--out", str(out), "--runs", "2", "--seed", "1"]) == 0
    for name in ("lanchester_iwo_jima.png", "force_ratio_success.png", "fall_day_hindcast.png",
                 "fall_day_november.png", "validation.md"):
        assert (out / name).stat().st_size > 1000, name
    engel = pd.read_csv(out / "lanchester_iwo_jima.csv")
    assert (engel["us_error_pct"].abs() < 0.5).all()
    record = pd.read_csv(out / "record_vs_model.csv")
    assert set(record["record_value"]) >= {321, 329, 15000, 20, 28}
    dupuy = pd.read_csv(out / "dupuy_institute_vs_model.csv")
    assert len(dupuy) == 10 and dupuy["model_p_win"].is_monotonic_increasing
    text = (out / "validation.md").read_text()
    assert "Iwo Jima" in text and "record" in text.lower()
