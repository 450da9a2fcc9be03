"""The command line as a user meets it: listings, bad input, failed runs, sweeps, report."""

import json
import signal
import subprocess
import sys
import time

import pandas as pd

from runners.report import write_report
from tests.conftest import ROOT, TINY_ESD, run_cli


def summaries(folder):
    return {p.parent: json.loads(p.read_text()) for p in folder.rglob("summary.json")}


def test_no_experiment_lists_them_and_exits_2(tmp_path):
    out = run_cli([], cwd=tmp_path)
    assert out.returncode == 2
    assert "pruning/dense_mp" in out.stderr and "Traceback" not in out.stderr


def test_unknown_experiment_and_data_list_valid_names(tmp_path):
    out = run_cli(["experiment=pruning/no_such_thing"], cwd=tmp_path)
    assert out.returncode != 0 and "dense_mp" in out.stderr and "Traceback" not in out.stderr
    out = run_cli(["experiment=pruning/dense_mp", "data=mnistt"], cwd=tmp_path)
    assert out.returncode != 0 and "mnist_subset" in out.stderr and "Traceback" not in out.stderr


def test_unknown_key_is_rejected_without_a_traceback(tmp_path):
    out = run_cli(["experiment=pruning/dense_mp", "train.epoch=3"], cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and "train.epoch" in text and "Traceback" not in text


def test_wrong_type_fails_the_run_with_a_summary(tmp_path):
    out = run_cli([*TINY_ESD, "train.epochs=abc", f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert summary["status"] == "failed" and "train.epochs must be an integer" in summary["error"]


def test_nan_loss_stops_training_and_keeps_metrics(tmp_path):
    run = tmp_path / "r"
    out = run_cli([*TINY_ESD, "train.lr=1e12", f"hydra.run.dir={run}"], cwd=tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert out.returncode == 1
    assert summary["status"] == "failed" and "DivergedError" in summary["error"]
    assert "lower train.lr" in summary["error"]
    assert (run / "metrics.jsonl").is_file()


def test_runs_started_together_get_different_folders(tmp_path):
    cmd = [sys.executable, "-m", "runners.run", *TINY_ESD, "logger=none"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    assert len(summaries(tmp_path / "outputs")) == 2


def test_joblib_sweep_survives_a_failing_job_and_reports(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *TINY_ESD, "logger=none", "train.lr=0.05,1e12", "seed=0,1"]
    out = run_cli([*args, "hydra/launcher=parallel", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    # every job ran; the sweep then names its failed jobs and exits 1
    assert out.returncode == 1 and "2 job(s) of the sweep failed" in out.stdout + out.stderr
    status = sorted(s["status"] for s in summaries(sweep).values())
    assert status == ["failed", "failed", "ok", "ok"]

    runs = write_report(sweep, tmp_path / "report")
    assert len(runs) == 4 and "cfg:train.lr" in runs
    grouped = pd.read_csv(tmp_path / "report" / "report_grouped.csv")
    assert grouped["esd/spikes count"].tolist() == [2]  # the two ok seeds, failed ones left out
    assert "+-" in (tmp_path / "report" / "report.md").read_text()


def test_submitit_local_sweep_runs_every_job(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", *TINY_ESD, "logger=none", "seed=0,1", "hydra/launcher=local"]
    out = run_cli([*args, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert sorted(s["seed"] for s in summaries(sweep).values()) == [0, 1]


def test_report_cli_rejects_a_folder_without_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "runners.report", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "no summary.json" in out.stderr


def test_bad_seed_still_writes_a_failed_summary(tmp_path):
    out = run_cli([*TINY_ESD, "seed=abc", f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "seed must be a non-negative integer" in summary["error"]


def test_errors_name_the_key_the_user_types(tmp_path):
    out = run_cli([*TINY_ESD, "train.batch_size=0", f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert out.returncode == 1 and "train.batch_size must be >= 1" in summary["error"]


def test_sigterm_writes_a_terminated_summary(tmp_path):
    run = tmp_path / "r"
    args = [*TINY_ESD, "train.epochs=100000", "logger=none", f"hydra.run.dir={run}"]
    proc = subprocess.Popen([sys.executable, "-m", "runners.run", *args], cwd=tmp_path)
    deadline = time.time() + 120
    while not (run / "run.log").is_file() or "data digits" not in (run / "run.log").read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == "terminated"


def test_report_skips_unreadable_runs_without_failing(tmp_path):
    for name, text in {
        "a": "[]",
        "b": "{not json",
        "c": json.dumps({"status": "ok", "x/y": 1}),
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(text)
    (tmp_path / "c" / ".hydra").mkdir()
    (tmp_path / "c" / ".hydra" / "overrides.yaml").write_text("- [unclosed")
    runs = write_report(tmp_path, tmp_path / "out")
    assert sorted(runs["status"]) == ["ok", "unreadable", "unreadable"]
