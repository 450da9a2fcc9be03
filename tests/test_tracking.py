"""The run-folder contract of the tracker."""

import json
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from core.tracking import Tracker  # noqa: E402


def test_metrics_figures_tables_and_summary_follow_the_contract(tmp_path):
    with Tracker(tmp_path) as tracker:
        tracker.log({"train/loss": 1.5, "train/acc": 0.5}, step=0)
        tracker.log({"train/loss": 1.0}, step=1)
        fig, ax = plt.subplots()
        ax.plot([1, 2])
        tracker.figure("curve", fig, [{"x": 1, "y": 2}])
        tracker.table("layers", [{"name": "fc1", "rank": 3}])
        tracker.record({"test/acc": 0.9})
        tracker.summary({"test/loss": 0.3})
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [
        {"step": 0, "train/loss": 1.5, "train/acc": 0.5},
        {"step": 1, "train/loss": 1.0},
    ]
    assert (tmp_path / "curve.png").is_file() and (tmp_path / "curve.csv").is_file()
    assert (tmp_path / "layers.csv").read_text().startswith("name,rank")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == {"test/acc": 0.9, "test/loss": 0.3, "status": "ok"}


def test_failed_summary_keeps_recorded_values_and_the_error(tmp_path):
    with Tracker(tmp_path) as tracker:
        tracker.record({"dense/test_acc": 0.8})
        tracker.summary(error="DivergedError: loss became nan")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["dense/test_acc"] == 0.8
    assert "nan" in summary["error"]
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temp file


def test_wandb_failure_never_fails_the_run(tmp_path, monkeypatch):
    def broken_init(**_):
        raise RuntimeError("no network")

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=broken_init))
    monkeypatch.setenv("WANDB_MODE", "offline")
    with Tracker(tmp_path, logger={"kind": "wandb", "project": "x"}) as tracker:
        tracker.log({"a/b": 1.0}, step=0)
        tracker.summary({"a/c": 2.0})
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "ok"


def test_wandb_offline_run_writes_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with Tracker(tmp_path, logger={"kind": "wandb", "project": "scalelab-test"}) as tracker:
        tracker.log({"train/loss": 1.0}, step=0)
        tracker.summary({"test/acc": 0.5})
    assert (tmp_path / "wandb").is_dir()


def test_wandb_online_failure_falls_back_to_offline(tmp_path, monkeypatch):
    modes = []

    def init(mode, **_):
        modes.append(mode)
        if mode == "online":
            raise TimeoutError("no network")
        return types.SimpleNamespace(
            log=lambda *a, **k: None,
            finish=lambda: None,
            summary={},
            dir=str(tmp_path / "w" / "f"),
        )

    fake = types.SimpleNamespace(init=init, Settings=lambda **_: None)
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setenv("WANDB_MODE", "online")
    with Tracker(tmp_path, logger={"kind": "wandb"}) as tracker:
        tracker.summary({"a/b": 1.0})
    assert modes == ["online", "offline"]


def test_rerun_into_the_same_folder_starts_clean(tmp_path):
    for value in (1.0, 2.0):
        with Tracker(tmp_path) as tracker:
            tracker.log({"train/loss": value}, step=0)
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 1
