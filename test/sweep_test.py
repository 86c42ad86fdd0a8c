"""scripts/sweep end to end on the synthetic Market-1501 data, with the baseline recipe at a tiny
size (1 epoch of 3 iterations, 32x16 images, a fifth of the training ids as validation):

- a 3-trial sweep over 2 parameters is stopped (SIGTERM) after its first trial and resumed by
  the same command, which finishes the other two without starting the first again;
- its trials.csv, best.ini, trace.png and parameters.png describe the trials, and a recipe
  takes best.ini with --config (its config.json shows the values);
- a trial whose recipe exits non-zero, and one past --trial-timeout, are recorded as failed
  with their logs, and the sweep goes on to the next trial;
- a trial stopped after its last iteration but before its test is tested from its last.pt;
- the space file's and the command line's mistakes are one clear line and exit 2; a NaN loss
  in a trial's log.jsonl is noticed.

Usage: sweep_test.py SOURCE_DIR BINARY_DIR
"""
import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE, BINARY = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
SWEEP = SOURCE / "scripts" / "sweep"
RECIPE = BINARY / "recipe_baseline"
TINY = ["--threads", "2", "--workers", "1", "--height", "32", "--width", "16", "--batch-p", "4",
        "--batch-k", "2", "--epoch-iterations", "3", "--test-batch", "128", "--flip-test", "false"]
SPACE = """
[search]
lr = { range = [1e-5, 1e-3], log = true }
margin = { range = [0.1, 0.5] }
[fixed]
validation = 0.2
max-epoch = 1
"""
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def sweep_command(folder, *extra):
    return [str(SWEEP), str(RECIPE), "--space", str(folder / "space.toml"), "--trials", "3",
            "--objective", "mAP", "--dir", str(folder / "sweep"), *TINY, *extra]


def results(sweep):
    return {int(p.parent.name): json.loads(p.read_text())
            for p in sorted((sweep / "trials").glob("*/result.json"))}


def test_stop_and_resume(folder):
    (folder / "space.toml").write_text(SPACE)
    sweep = folder / "sweep"
    started = time.monotonic()
    process = subprocess.Popen(sweep_command(folder), stderr=subprocess.PIPE, text=True)
    # Stopped once trial 0 finished and trial 1 is training (Ctrl-C does the same).
    while not (sweep / "trials" / "0001" / "run" / "config.json").exists():
        if process.poll() is not None or time.monotonic() - started > 300:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, first_err = process.communicate(timeout=300)
    print(first_err)
    check(process.returncode == 128 + signal.SIGTERM, f"SIGTERM stops the sweep with 143 "
          f"(got {process.returncode})")
    check(list(results(sweep)) == [0], f"only trial 0 finished before the stop: {list(results(sweep))}")
    check((sweep / "experiment.json").exists(), "Ax's state was saved")

    again = subprocess.run(sweep_command(folder), stderr=subprocess.PIPE, text=True, timeout=600)
    print(again.stderr)
    print(f"[test] stop + resume of 3 trials took {time.monotonic() - started:.0f} s")
    check(again.returncode == 0, f"the same command finishes the sweep (exit {again.returncode})")
    check("1 of 3 trials done" in again.stderr, "the resumed sweep starts from 1 trial done")
    check("trial 0 started" not in again.stderr, "the resumed sweep does not start trial 0 again")
    done = results(sweep)
    check(sorted(done) == [0, 1, 2] and all(r["status"] == "completed" for r in done.values()),
          f"trials 0, 1, 2 completed: { {i: r['status'] for i, r in done.items()} }")
    starts = (sweep / "trials" / "0000" / "trial.log").read_text().count("starting:")
    check(starts == 1, f"trial 0's recipe ran once ({starts})")
    second = (sweep / "trials" / "0001" / "trial.log").read_text()
    attempts = second.count("starting:") + second.count("resuming:")
    print(f"[test] trial 1 was stopped and run again: {'from its last.pt' if 'resuming:' in second else 'from the start (stopped before its first iteration)'}")
    check(attempts == 2, f"trial 1, stopped while running, ran again once ({attempts} attempts)")
    state = json.loads((sweep / "experiment.json").read_text())
    check('"index": 3' not in json.dumps(state), "Ax's experiment holds no 4th trial")
    return sweep, done


def test_outputs(sweep, done):
    rows = list(csv.DictReader((sweep / "trials.csv").open()))
    check([r["trial"] for r in rows] == ["0", "1", "2"], "trials.csv has one row per trial")
    check(all(float(r["seconds"]) > 0 and r["exit_code"] == "0" for r in rows),
          "trials.csv records seconds and exit status")
    check(all(abs(float(r["mAP"]) - done[int(r["trial"])]["metrics"]["mAP"]) < 1e-12 for r in rows),
          "trials.csv's mAP is each trial's metrics line")
    values = {(float(r["lr"]), float(r["margin"])) for r in rows}
    check(len(values) == 3 and all(1e-5 <= lr <= 1e-3 and 0.1 <= m <= 0.5 for lr, m in values),
          f"three distinct trials inside the space: {values}")
    for name in ("trace.png", "parameters.png"):
        data = (sweep / name).read_bytes()
        check(data.startswith(b"\x89PNG") and len(data) > 5000, f"{name} is a drawn PNG")
    best = max(done.values(), key=lambda r: r["metrics"]["mAP"])
    run = sweep.parent / "best-run"
    result = subprocess.run([str(RECIPE), "--config", str(sweep / "best.ini"), "--validation", "0.2",
                             "--max-epoch", "1", "--output", str(run), *TINY], capture_output=True, text=True, timeout=300)
    check(result.returncode == 0, f"the recipe runs with --config best.ini ({result.stderr[-300:]})")
    flags = json.loads((run / "config.json").read_text())["flags"]
    check(float(flags["lr"]) == best["values"]["lr"] and float(flags["margin"]) == best["values"]["margin"],
          f"--config best.ini sets the best trial's values exactly: {flags['lr']}, {flags['margin']}")


def test_failed_trials(folder):
    (folder / "space.toml").write_text(SPACE)
    missing = folder / "no-such-dataset"
    result = subprocess.run([str(SWEEP), str(RECIPE), "--space", str(folder / "space.toml"),
                             "--trials", "2", "--objective", "rank1", "--dir", str(folder / "crash"),
                             "--data-root", str(missing), *TINY],
                            stderr=subprocess.PIPE, text=True, timeout=300)
    done = results(folder / "crash")
    check(sorted(done) == [0, 1] and all(r["status"] == "failed" and r["exit_code"] == 1
                                         for r in done.values()),
          f"both trials whose recipe exits 1 are failed, the sweep went on: {done}")
    check(all(str(missing) in r["reason"] for r in done.values()),
          "the reason is the recipe's error line")
    check((folder / "crash" / "trials" / "0001" / "trial.log").read_text().count(str(missing)) > 0,
          "the failed trial's log is kept")
    check(result.returncode == 1 and "no trial completed" in result.stderr,
          "a sweep without a completed trial exits 1")

    result = subprocess.run([str(SWEEP), str(RECIPE), "--space", str(folder / "space.toml"),
                             "--trials", "1", "--objective", "mAP", "--dir", str(folder / "slow"),
                             "--trial-timeout", "2s", *TINY],
                            stderr=subprocess.PIPE, text=True, timeout=300)
    done = results(folder / "slow")
    check(done.get(0, {}).get("status") == "failed" and "timed out" in done[0].get("reason", ""),
          f"a trial past --trial-timeout is failed: {done}")


def test_stopped_after_training(folder):
    """A trial stopped after its last iteration, before its test (its last.pt holds every
    epoch): resumed, it has nothing to train, and the recipe tests its last weights again."""
    (folder / "space.toml").write_text(SPACE)
    command = [str(SWEEP), str(RECIPE), "--space", str(folder / "space.toml"), "--trials", "1",
               "--objective", "rank1", "--dir", str(folder / "late"), *TINY]
    trial = folder / "late" / "trials" / "0000"
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    while not (trial / "trial.log").exists() and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=300)
    # The trial's own command, run to the end: a finished run folder with its last.pt.
    started = [line for line in (trial / "trial.log").read_text().splitlines() if "starting:" in line]
    recipe_command = started[0].split("starting: ", 1)[1].split()
    recipe_command = recipe_command[recipe_command.index(str(RECIPE)):]
    shutil.rmtree(trial / "run")
    subprocess.run(recipe_command, capture_output=True, check=True, timeout=300)
    result = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=300)
    done = results(folder / "late")
    log = (trial / "trial.log").read_text()
    check(result.returncode == 0 and done.get(0, {}).get("status") == "completed"
          and "resuming:" in log and "rank1" in done[0].get("metrics", {}),
          f"a trial stopped before its test is resumed, and its weights tested: {done}")


def load_sweep_module():
    spec = importlib.util.spec_from_file_location("sweep", SOURCE / "scripts" / "sweep.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sweep"] = module
    spec.loader.exec_module(module)
    return module


def test_mistakes(folder):
    def run(space_text, *extra):
        (folder / "bad.toml").write_text(space_text)
        return subprocess.run([str(SWEEP), str(RECIPE), "--space", str(folder / "bad.toml"),
                               "--trials", "2", "--objective", "mAP", "--dir", str(folder / "bad"),
                               *extra], capture_output=True, text=True, timeout=120)
    cases = [
        (SPACE.replace("[0.1, 0.5]", "[0.5, 0.1]"), [], "low < high"),
        (SPACE.replace("margin =", "no-such-flag ="), [], "no flag --no-such-flag"),
        (SPACE.replace("validation = 0.2", ""), [], "--validation"),
        (SPACE, ["--margin", "0.3"], "--margin is searched"),
        (SPACE, ["--output", "x"], "the sweep sets it"),
        (SPACE.replace("[search]", "[serach]"), [], "unknown section"),
        (SPACE.replace("{ range = [0.1, 0.5] }", "0.3"), [], "under [fixed]"),
    ]
    for space_text, extra, message in cases:
        result = run(space_text, *extra)
        check(result.returncode == 2 and message in result.stderr
              and result.stderr.count("\n") == 1,
              f"mistake -> exit 2, one line with '{message}': {result.stderr.strip()}")
    check(not (folder / "bad").exists(), "a refused sweep leaves no folder")

    sweep = load_sweep_module()
    trial = sweep.Running(0, {}, None, folder / "t", 0, 0.0, 0.0)
    (folder / "t" / "run").mkdir(parents=True)
    log = folder / "t" / "run" / "log.jsonl"
    log.write_text('{"epoch":1,"loss":2.5}\n')
    check(not sweep.loss_turned_nan(trial), "a finite loss is not NaN")
    with log.open("a") as file:
        file.write('{"epoch":1,"loss":null}\n')
    check(sweep.loss_turned_nan(trial), "a null loss (the recipes' NaN) is noticed")
    (folder / "t" / "stdout.log").write_text('{"mAP":null,"rank1":0.5}\n')
    (folder / "t" / "trial.log").write_text("")
    result = sweep.outcome(trial, "mAP", 0, 1.0)
    check(result["status"] == "failed" and "NaN" in result["reason"], "a NaN objective is a failure")


def main():
    if not RECIPE.exists():
        print(f"{RECIPE} is missing: build it first (ninja -C build recipe_baseline)")
        return 1
    os.environ.setdefault("FGREID_CACHE", str(BINARY / "test-cache"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        test_mistakes(folder)
        (folder / "a").mkdir()
        sweep, done = test_stop_and_resume(folder / "a")
        test_outputs(sweep, done)
        (folder / "b").mkdir()
        test_failed_trials(folder / "b")
        (folder / "c").mkdir()
        test_stopped_after_training(folder / "c")
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
