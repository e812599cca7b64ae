"""The status table: trials with status, parameters and metrics, refreshed at most every
few seconds, and printed once more at the end."""

from __future__ import annotations

import io

import pytest

from ember import tune
from ember.tune.experiment.trial import Trial
from ember.tune.progress_reporter import CLIReporter


def make_trials(n):
    trials = []
    for i in range(n):
        t = Trial("train", config={"lr": 0.1 * (i + 1)}, trial_id=f"abc_{i:05d}",
                  evaluated_params={"lr": 0.1 * (i + 1)})
        if i % 3 == 0:
            t.set_status(Trial.RUNNING)
            t.update_last_result({"loss": 1.0 / (i + 1), "training_iteration": i,
                                  "time_total_s": 1.5})
        trials.append(t)
    return trials


def test_table_shows_names_status_params_and_metrics():
    text = CLIReporter(metric="loss", mode="min").progress_str(
        make_trials(4), False, "Logical resource usage: 1/2 CPUs")
    assert "Trial status: 2 RUNNING | 2 PENDING" in text
    assert "Logical resource usage: 1/2 CPUs" in text
    assert "Current best trial: train_abc_00003 with loss=0.25" in text
    header = next(line for line in text.splitlines() if "Trial name" in line)
    for column in ("status", "lr", "loss", "iter", "total time (s)"):
        assert column in header
    row = next(line for line in text.splitlines() if line.startswith("│ train_abc_00003"))
    assert "RUNNING" in row and "0.4" in row and "0.25" in row


def test_long_tables_are_truncated_and_errors_listed():
    trials = make_trials(30)
    trials[5].set_status(Trial.ERROR)
    trials[5].num_failures = 1
    text = CLIReporter(max_progress_rows=10).progress_str(trials, True)
    rows = [line for line in text.splitlines() if line.startswith("│ train_")]
    assert len(rows) == 10 + 1  # the progress table plus the error table's row
    assert "... 20 more trials not shown" in text
    assert "Number of errored trials: 1" in text and "error.txt" in text


def test_report_frequency():
    out = io.StringIO()
    r = CLIReporter(max_report_frequency=3600, out=out)
    trials = make_trials(2)
    assert r.should_report(trials)
    r.report(trials, False)
    assert not r.should_report(trials)  # refreshed at most every max_report_frequency
    assert r.should_report(trials, done=True)
    assert "Trial name" in out.getvalue()
    assert not CLIReporter(print_intermediate_tables=False).should_report(trials)


@pytest.mark.usefixtures("cluster")
def test_fit_prints_a_final_table_and_obeys_verbose(capsys):
    def train(config):
        tune.report({"score": config["x"] * 2})

    tune.Tuner(train, param_space={"x": tune.grid_search([1, 2])},
               tune_config=tune.TuneConfig(metric="score", mode="max"),
               run_config=tune.RunConfig(verbose=2)).fit()
    out = capsys.readouterr().out
    assert "Trial status: 2 TERMINATED" in out
    assert "Current best trial" in out and "score=4" in out
    assert out.count("completed after 1 iterations") == 2
    tune.Tuner(train, param_space={"x": 1}, run_config=tune.RunConfig(verbose=0)).fit()
    assert capsys.readouterr().out == ""
