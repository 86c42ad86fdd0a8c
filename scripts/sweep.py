"""Bayesian hyperparameter search over a recipe binary, as the seed's hyper_*.py scripts did.

    scripts/sweep build/recipe_<name> [--space FILE] --trials N --objective mAP|rank1 [recipe flags]

Each trial runs the recipe as a subprocess with the trial's values as flags (plus the space
file's [fixed] flags and the recipe flags given here) and reads the metrics JSON on the last
line of its stdout. Ax (its service API, ax.Client) proposes the values: a centre point and
Sobol draws first, then Bayesian optimisation. Everything lives in the sweep folder (--dir):

    sweep.json        the settings; running the same command again continues the sweep
    experiment.json   Ax's state, saved after every change to a trial
    trials/NNNN/      each trial: stdout.log, trial.log (stderr), result.json, run/ (its outputs)
    trials.csv        every trial: status, metrics, values, seconds, exit status, reason
    best.ini          the best trial's values, for any recipe's --config
    trace.png         the objective per trial and the best so far
    parameters.png    the objective against each searched value

A trial that exits non-zero, runs past --trial-timeout or whose loss or objective turns NaN
(the seed returned 0 then; here it is stopped at once) is recorded as failed and the sweep goes
on. Ctrl-C or SIGTERM stops the running trials (they write their last.pt) and exits; the same
command resumes them from there, without repeating any finished trial.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_SPACE = REPOSITORY / "recipes" / "sweeps" / "seed.toml"
METRICS = ("mAP", "rank1", "rank5", "rank10", "rank20", "mINP")
# Flags the sweep sets itself for every trial.
OWNED_FLAGS = ("output", "resume")


class SweepError(Exception):
    """A mistake in the command line, the space file or the sweep folder: one line, exit 2."""


# ---------------------------------------------------------------- the space file

@dataclass
class Parameter:
    flag: str                  # the recipe flag, e.g. cosine-margin
    kind: str                  # range or choice
    value_type: str            # float, int, str or bool
    bounds: tuple = ()
    log: bool = False
    values: list = field(default_factory=list)

    @property
    def ax_name(self) -> str:  # Ax's expressions read '-' as minus
        return self.flag.replace("-", "_")


@dataclass
class Space:
    parameters: list[Parameter]
    fixed: dict[str, str]      # flag -> value as the command line spells it


def flag_text(value) -> str:
    """A value as the recipes' flags parse it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_parameter(path: Path, flag: str, spec) -> Parameter:
    where = f"{path}: [search] {flag}"
    if not isinstance(spec, dict):
        raise SweepError(f"{where}: expected {{ range = [low, high] }} or {{ choice = [...] }}; "
                         "put a fixed value under [fixed]")
    unknown = set(spec) - {"range", "log", "choice"}
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                         "(range, log, choice)")
    if ("range" in spec) == ("choice" in spec):
        raise SweepError(f"{where}: give exactly one of range = [low, high] or choice = [...]")
    if "choice" in spec:
        values = spec["choice"]
        if not isinstance(values, list) or len(values) < 2 or len({type(v) for v in values}) != 1:
            raise SweepError(f"{where}: choice needs two or more values of one type")
        value_type = {bool: "bool", int: "int", float: "float", str: "str"}[type(values[0])]
        return Parameter(flag, "choice", value_type, values=values)
    bounds = spec["range"]
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            or not bounds[0] < bounds[1]):
        raise SweepError(f"{where}: range needs two numbers, low < high")
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and bounds[0] <= 0):
        raise SweepError(f"{where}: log = true needs a positive range")
    value_type = "int" if all(isinstance(b, int) for b in bounds) else "float"
    return Parameter(flag, "range", value_type, bounds=tuple(bounds), log=log)


def read_space(path: Path) -> Space:
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise SweepError(f"{path}: cannot read the space file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"{path}: not valid TOML: {error}") from None
    unknown = set(document) - {"search", "fixed"}
    if unknown:
        raise SweepError(f"{path}: unknown section(s) {', '.join(sorted(unknown))} "
                         "(search, fixed)")
    search = document.get("search", {})
    if not search:
        raise SweepError(f"{path}: [search] names no parameter")
    parameters = [parse_parameter(path, flag, spec) for flag, spec in search.items()]
    fixed = {}
    for flag, value in document.get("fixed", {}).items():
        if isinstance(value, (dict, list)):
            raise SweepError(f"{path}: [fixed] {flag}: expected one value")
        if flag in search:
            raise SweepError(f"{path}: {flag} is both searched and fixed")
        fixed[flag] = flag_text(value)
    return Space(parameters, fixed)


def ax_parameters(space: Space) -> list:
    from ax import ChoiceParameterConfig, RangeParameterConfig
    configs = []
    for p in space.parameters:
        if p.kind == "range":
            configs.append(RangeParameterConfig(name=p.ax_name, bounds=p.bounds,
                                                parameter_type=p.value_type,
                                                scaling="log" if p.log else "linear"))
        else:
            configs.append(ChoiceParameterConfig(name=p.ax_name, values=p.values,
                                                 parameter_type=p.value_type,
                                                 is_ordered=p.value_type in ("int", "float")))
    return configs


# ---------------------------------------------------------------- the command line

def parse_recipe_flags(words: list[str]) -> dict[str, str]:
    """`--name value`, `--name=value` or a bare `--switch` (true), in order; the last wins."""
    flags, i = {}, 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--") or len(word) == 2:
            raise SweepError(f"unexpected word '{word}': recipe flags are --name value")
        name, eq, value = word[2:].partition("=")
        if not eq:
            if i + 1 < len(words) and not words[i + 1].startswith("--"):
                value, i = words[i + 1], i + 1
            else:
                value = "true"
        flags[name] = value
        i += 1
    return flags


def duration(text: str) -> float:
    """Seconds from '3600', '90s', '45m' or '2h'."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration (e.g. 5400, 90m, 2h)")
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a timeout must be positive")
    return seconds


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_arguments(argv: list[str]):
    parser = argparse.ArgumentParser(
        prog="scripts/sweep", allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="scripts/sweep build/recipe_<name> [--space FILE] --trials N "
              "--objective mAP|rank1 [options] [recipe flags ...]",
        description=__doc__.split("\n\n", 2)[2] if __doc__ else None,
        epilog="Every other --flag goes to the recipe (it overrides the space file's [fixed]).")
    parser.add_argument("recipe", type=Path, help="the recipe binary, e.g. build/recipe_market_image")
    parser.add_argument("--space", type=Path, default=DEFAULT_SPACE,
                        help="the search space (TOML; default: the seed's, recipes/sweeps/seed.toml)")
    parser.add_argument("--trials", type=positive, required=True,
                        help="trials in all, failed ones included (the seed: 120)")
    parser.add_argument("--objective", choices=METRICS, required=True,
                        help="the metric to maximise (the seed: mAP; rank1 for vehicles)")
    parser.add_argument("--dir", type=Path, help="the sweep folder (default: sweeps/<recipe>)")
    parser.add_argument("--parallel", type=positive, default=1,
                        help="trials at once: each on its own GPU, or with its share of CPU threads")
    parser.add_argument("--gpus", help="GPU indices for the trials, e.g. 0,1,2,3 (default: every "
                        "GPU nvidia-smi lists, or CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--trial-timeout", type=duration, help="stop a trial after this long "
                        "(seconds, or 90m, 2h) and record it as failed")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep each trial's last.pt and best.pt (hundreds of MB each)")
    parser.add_argument("--sweep-seed", type=int, default=1,
                        help="seed of Ax's draws (the recipes' own --seed is a recipe flag)")
    options, rest = parser.parse_known_args(argv)
    try:
        options.recipe_flags = parse_recipe_flags(rest)
    except SweepError as error:
        parser.error(str(error))
    return options


# ---------------------------------------------------------------- checks before the first trial

def recipe_flags_known(recipe: Path) -> set[str]:
    """The flags `recipe --help` lists."""
    if not (recipe.is_file() and os.access(recipe, os.X_OK)):
        raise SweepError(f"{recipe}: not an executable recipe binary (build it first)")
    result = subprocess.run([str(recipe), "--help"], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SweepError(f"{recipe} --help exited with {result.returncode}: {result.stderr.strip()}")
    known = set()
    for line in result.stdout.splitlines():
        if line.startswith("  --"):
            for name in line.split("  (")[0].split(","):
                known.add(name.strip().split(" ")[0].removeprefix("--"))
    return known | {"config", "opt"}


def trial_flags(space: Space, recipe_flags: dict[str, str]) -> dict[str, str]:
    """The flags every trial shares: [fixed], then the command line's."""
    return {**space.fixed, **recipe_flags}


def check_flags(options, space: Space) -> dict[str, str]:
    common = trial_flags(space, options.recipe_flags)
    known = recipe_flags_known(options.recipe)
    searched = [p.flag for p in space.parameters]
    for flag in [*searched, *space.fixed]:
        if flag not in known:
            raise SweepError(f"{options.space}: {options.recipe.name} has no flag --{flag} "
                             f"(see {options.recipe} --help)")
    for flag in options.recipe_flags:
        if flag not in known:
            raise SweepError(f"--{flag}: {options.recipe.name} has no such flag")
        if flag in searched:
            raise SweepError(f"--{flag} is searched by {options.space}: remove it from one of them")
        if flag in OWNED_FLAGS:
            raise SweepError(f"--{flag}: the sweep sets it for each trial (trials/NNNN/run)")
    if "validation" not in common:
        raise SweepError("the search must not see the test split: give --validation FRACTION "
                         "(the seed's space file holds out half of the training ids)")
    if common["validation"] in ("0", "0.0"):
        print("[sweep] warning: --validation 0 tunes on the release's test split", file=sys.stderr)
    return common


# ---------------------------------------------------------------- the sweep folder

def settings_of(options, space: Space) -> dict:
    """What makes a sweep the same sweep: a resumed one must match."""
    return {"recipe": options.recipe.name,
            "objective": options.objective,
            "search": [p.__dict__ | {"bounds": list(p.bounds)} for p in space.parameters],
            "flags": trial_flags(space, options.recipe_flags)}


def write_atomically(path: Path, data: bytes | str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(temporary, path)


def open_client(folder: Path, settings: dict, space: Space, seed: int):
    """Ax's client: a new experiment, or the one this folder holds (same settings only)."""
    from ax import Client
    state, saved = folder / "experiment.json", folder / "sweep.json"
    if saved.exists() and state.exists():
        previous = json.loads(saved.read_text())
        changed = [key for key in settings if previous.get(key) != settings[key]]
        if changed:
            raise SweepError(f"{folder} holds a sweep with other {', '.join(changed)}: "
                             "give another --dir, or remove that folder to start again")
        return Client.load_from_json_file(str(state)), True
    folder.mkdir(parents=True, exist_ok=True)
    client = Client(random_seed=seed)
    client.configure_experiment(parameters=ax_parameters(space), name=folder.name)
    client.configure_optimization(objective=settings["objective"])
    client.configure_generation_strategy(initialization_random_seed=seed)
    write_atomically(saved, json.dumps(settings, indent=2) + "\n")
    return client, False


def save_client(client, folder: Path) -> None:
    temporary = folder / "experiment.json.tmp"
    client.save_to_json_file(str(temporary))
    os.replace(temporary, folder / "experiment.json")


# ---------------------------------------------------------------- one trial

@dataclass
class Running:
    index: int
    values: dict               # flag -> value
    process: subprocess.Popen
    folder: Path
    slot: int
    started: float
    earlier_seconds: float     # spent by attempts before a stop and resume
    log_offset: int = 0
    stop_reason: str | None = None
    files: tuple = ()
    resumed: bool = False


def trial_folder(sweep: Path, index: int) -> Path:
    return sweep / "trials" / f"{index:04d}"


def trial_flags_for(folder: Path, common: dict, values: dict) -> dict:
    """The trial's recipe flags; a trial stopped mid-way continues from its last.pt (a run
    stopped after its last iteration then only tests its weights)."""
    run = folder / "run"
    flags = {**common, **{k: flag_text(v) for k, v in values.items()}, "output": str(run)}
    if (run / "last.pt").exists():
        flags["resume"] = str(run)
    elif run.exists():                  # stopped before its first checkpoint: start afresh
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)
    return flags


def start_trial(sweep: Path, options, common: dict, index: int, values: dict, slot: int,
                devices: list[str]) -> Running:
    folder = trial_folder(sweep, index)
    flags = trial_flags_for(folder, common, values)
    env = dict(os.environ)
    if devices and common.get("device") != "cpu":
        env["CUDA_VISIBLE_DEVICES"] = devices[slot % len(devices)]
    elif options.parallel > 1 and "threads" not in common:
        flags["threads"] = str(max(1, (os.cpu_count() or 1) // options.parallel))
    command = [str(options.recipe.resolve())]
    for name, value in flags.items():
        command += [f"--{name}", value]
    if shutil.which("setpriv"):         # a killed sweep takes its trials with it
        command = ["setpriv", "--pdeathsig", "TERM", *command]
    stdout = open(folder / "stdout.log", "a")
    stderr = open(folder / "trial.log", "a")
    verb = "resuming" if "resume" in flags else "starting"
    stderr.write(f"[sweep] {time.strftime('%Y-%m-%d %H:%M:%S')} {verb}: {' '.join(command)}\n")
    stderr.flush()
    process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    earlier = folder / "interrupted.json"
    spent = json.loads(earlier.read_text())["seconds"] if earlier.exists() else 0.0
    return Running(index, values, process, folder, slot, time.monotonic(), spent,
                   files=(stdout, stderr), resumed="resume" in flags)


def loss_turned_nan(trial: Running) -> bool:
    """Whether a new record of the trial's log.jsonl has a NaN loss (JSON null)."""
    log = trial.folder / "run" / "log.jsonl"
    if not log.exists():
        return False
    with open(log, "rb") as file:
        file.seek(trial.log_offset)
        chunk = file.read()
    complete = chunk.rfind(b"\n") + 1
    trial.log_offset += complete
    for line in chunk[:complete].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "loss" in record and not is_number(record["loss"]):
            return True
    return False


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def last_json_line(path: Path) -> dict | None:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    try:
        record = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def last_error_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines()
             if line.strip() and not line.startswith("[sweep]")]
    return lines[-1][:200] if lines else ""


def outcome(trial: Running, objective: str, exit_code: int, seconds: float) -> dict:
    """The trial's result.json: completed with its metrics, or failed with a reason."""
    result = {"trial": trial.index, "exit_code": exit_code, "seconds": round(seconds, 1),
              "values": trial.values, "metrics": {}, "status": "failed"}
    if trial.stop_reason:
        result["reason"] = trial.stop_reason
        return result
    if exit_code != 0:
        result["reason"] = f"exit {exit_code}: {last_error_line(trial.folder / 'trial.log')}"
        return result
    metrics = last_json_line(trial.folder / "stdout.log")
    if metrics is None:
        result["reason"] = "no metrics JSON on the last line of stdout"
        return result
    result["metrics"] = {k: metrics[k] for k in METRICS if k in metrics}
    if not is_number(metrics.get(objective)):
        result["reason"] = f"{objective} is NaN or missing"
        return result
    result["status"] = "completed"
    return result


def stop_process(trial: Running, grace: float = 120.0) -> int:
    """SIGTERM (the recipe writes last.pt and exits), SIGKILL after `grace` seconds."""
    if trial.process.poll() is None:
        trial.process.terminate()
        try:
            trial.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            trial.process.kill()
    return trial.process.wait()


def remove_checkpoints(folder: Path) -> None:
    for name in ("last.pt", "best.pt"):
        (folder / "run" / name).unlink(missing_ok=True)


# ---------------------------------------------------------------- results people read

def read_results(sweep: Path, client) -> list[dict]:
    """Every trial Ax knows, with its result.json when it has one."""
    rows = []
    for index, trial in sorted(client._experiment.trials.items()):
        path = trial_folder(sweep, index) / "result.json"
        if path.exists():
            rows.append(json.loads(path.read_text()))
        else:
            rows.append({"trial": index, "status": "running", "metrics": {},
                         "values": ax_values(trial.arm.parameters)})
    return rows


def ax_values(parameters: dict) -> dict:
    return {name.replace("_", "-"): value for name, value in parameters.items()}


def best_row(rows: list[dict], objective: str) -> dict | None:
    done = [r for r in rows if r["status"] == "completed"]
    return max(done, key=lambda r: r["metrics"][objective]) if done else None


def write_csv(sweep: Path, rows: list[dict], space: Space) -> None:
    flags = [p.flag for p in space.parameters]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trial", "status", *METRICS, *flags, "seconds", "exit_code", "reason", "log"])
    for r in rows:
        writer.writerow([r["trial"], r["status"], *[r["metrics"].get(m, "") for m in METRICS],
                         *[r["values"].get(f, "") for f in flags], r.get("seconds", ""),
                         r.get("exit_code", ""), r.get("reason", ""),
                         f"trials/{r['trial']:04d}/trial.log"])
    write_atomically(sweep / "trials.csv", out.getvalue())


def write_best_ini(sweep: Path, best: dict, options) -> None:
    lines = [f"; The best trial of the sweep in {sweep} (scripts/sweep): trial {best['trial']},",
             f"; {options.objective} {best['metrics'][options.objective]:.4f} on the validation split.",
             "; Only the searched values: the trials' own settings (--validation, --max-epoch, ...)",
             f"; are not here. Use: {options.recipe} --config best.ini [flags]"]
    lines += [f"{flag} = {flag_text(value)}" for flag, value in best["values"].items()]
    write_atomically(sweep / "best.ini", "\n".join(lines) + "\n")


def pyplot():
    import matplotlib
    matplotlib.use("Agg")               # files only, no display
    import matplotlib.pyplot as plt
    return plt


def draw_trace(path: Path, rows: list[dict], objective: str) -> None:
    """The objective of each trial, failed trials at the bottom, and the best so far."""
    import matplotlib.ticker
    plt = pyplot()
    done = [r for r in rows if r["status"] == "completed"]
    failed = [r for r in rows if r["status"] == "failed"]
    xs = [r["trial"] for r in done]
    ys = [r["metrics"][objective] for r in done]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=110)
    axes.scatter(xs, ys, s=18, label="trial")
    running_best, top = [], -math.inf
    for y in ys:
        top = max(top, y)
        running_best.append(top)
    axes.step(xs, running_best, where="post", color="tab:green", label="best so far")
    if failed:
        axes.scatter([r["trial"] for r in failed], [min(ys, default=0.0)] * len(failed),
                     marker="x", color="tab:red", label="failed")
    axes.set(xlabel="trial", ylabel=f"{objective} (validation)", title="optimisation trace")
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.legend(loc="best")
    save_figure(figure, path)


def draw_parameters(path: Path, rows: list[dict], space: Space, objective: str) -> None:
    """One panel per searched flag: the objective against its value, the best starred."""
    import matplotlib.ticker
    plt = pyplot()
    done = [r for r in rows if r["status"] == "completed"]
    best = best_row(rows, objective)
    columns = min(4, len(space.parameters))
    figure, grid = plt.subplots(math.ceil(len(space.parameters) / columns), columns,
                                figsize=(3.2 * columns, 2.7 * math.ceil(len(space.parameters) / columns)),
                                dpi=100, squeeze=False)
    for axes, parameter in zip(grid.flat, space.parameters):
        def position(value, parameter=parameter):   # a choice by its index
            return parameter.values.index(value) if parameter.kind == "choice" else value
        if parameter.kind == "choice":
            axes.set_xticks(range(len(parameter.values)), [str(v) for v in parameter.values])
        axes.scatter([position(r["values"][parameter.flag]) for r in done],
                     [r["metrics"][objective] for r in done], s=12)
        if best is not None:
            axes.scatter([position(best["values"][parameter.flag])], [best["metrics"][objective]],
                         s=60, marker="*", color="tab:red")
        if parameter.log:
            axes.set_xscale("log")
            axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labels collide
        axes.set(xlabel=parameter.flag, ylabel=objective)
    for axes in list(grid.flat)[len(space.parameters):]:
        axes.axis("off")
    save_figure(figure, path)


def save_figure(figure, path: Path) -> None:
    figure.tight_layout()
    temporary = path.with_name(path.stem + ".tmp.png")
    figure.savefig(temporary)
    os.replace(temporary, path)
    pyplot().close(figure)


def publish(sweep: Path, client, space: Space, options) -> list[dict]:
    rows = read_results(sweep, client)
    write_csv(sweep, rows, space)
    best = best_row(rows, options.objective)
    if best is not None:
        write_best_ini(sweep, best, options)
    draw_trace(sweep / "trace.png", rows, options.objective)
    draw_parameters(sweep / "parameters.png", rows, space, options.objective)
    return rows


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 \
        else f"{seconds // 60}m{seconds % 60:02d}s"


def progress(rows: list[dict], options, running: int) -> str:
    finished = [r for r in rows if r["status"] in ("completed", "failed")]
    failed = sum(r["status"] == "failed" for r in rows)
    best = best_row(rows, options.objective)
    line = f"[sweep] {len(finished)}/{options.trials} trials done ({failed} failed, {running} running)"
    if best is not None:
        line += f", best {options.objective} {best['metrics'][options.objective]:.4f} (trial {best['trial']})"
    durations = [r["seconds"] for r in finished if r.get("seconds")]
    if durations and len(finished) < options.trials:
        mean = sum(durations) / len(durations)
        line += f", ETA {clock(mean * (options.trials - len(finished)) / options.parallel)}"
    return line


# ---------------------------------------------------------------- the loop

class Sweep:
    def __init__(self, options, space: Space, common: dict, client, folder: Path):
        self.options, self.space, self.common = options, space, common
        self.client, self.folder = client, folder
        self.running: dict[int, Running] = {}
        self.waiting: list[tuple[int, dict]] = []    # trials to (re)start, in order
        self.devices = gpu_list(options, common)
        self.stop_signal = 0

    def recover(self) -> None:
        """Trials that were running when the sweep stopped: recorded if they had finished,
        otherwise started again (from their last.pt when they wrote one)."""
        from ax.core.base_trial import TrialStatus
        for index, trial in sorted(self.client._experiment.trials.items()):
            if trial.status != TrialStatus.RUNNING:
                continue
            result = trial_folder(self.folder, index) / "result.json"
            if result.exists():
                self.record(json.loads(result.read_text()))
            else:
                self.waiting.append((index, ax_values(trial.arm.parameters)))

    def free_slot(self) -> int | None:
        used = {t.slot for t in self.running.values()}
        return next((s for s in range(self.options.parallel) if s not in used), None)

    def launch(self) -> None:
        while not self.stop_signal and (slot := self.free_slot()) is not None:
            if self.waiting:
                index, values = self.waiting.pop(0)
            elif len(self.client._experiment.trials) < self.options.trials:
                try:
                    proposed = self.client.get_next_trials(max_trials=1)
                except Exception as error:  # noqa: BLE001 (Ax's many kinds: report, stop)
                    print(f"[sweep] Ax proposed no trial ({type(error).__name__}: {error}); "
                          "the running trials finish, then the sweep stops", file=sys.stderr)
                    self.waiting, self.options.trials = [], len(self.client._experiment.trials)
                    return
                if not proposed:            # Ax waits for data from the running trials
                    return
                (index, parameters), = proposed.items()
                values = ax_values(parameters)
                save_client(self.client, self.folder)
            else:
                return
            trial = start_trial(self.folder, self.options, self.common, index, values, slot,
                                self.devices)
            self.running[index] = trial
            shown = ", ".join(f"{k}={flag_text(v)}" for k, v in values.items())
            verb = "resumed from its last.pt" if trial.resumed else "started"
            print(f"[sweep] trial {index} {verb}: {shown} "
                  f"(log {trial.folder / 'trial.log'})", file=sys.stderr, flush=True)

    def watch(self) -> None:
        for trial in list(self.running.values()):
            if trial.stop_reason is None and loss_turned_nan(trial):
                trial.stop_reason = "the loss turned NaN"
            timeout = self.options.trial_timeout
            if (trial.stop_reason is None and timeout
                    and trial.earlier_seconds + time.monotonic() - trial.started > timeout):
                trial.stop_reason = f"timed out after {clock(timeout)}"
            if trial.stop_reason and trial.process.poll() is None:
                stop_process(trial)
            if trial.process.poll() is not None:
                self.finish(trial)

    def finish(self, trial: Running) -> None:
        del self.running[trial.index]
        for file in trial.files:
            file.close()
        seconds = trial.earlier_seconds + time.monotonic() - trial.started
        result = outcome(trial, self.options.objective, trial.process.returncode, seconds)
        write_atomically(trial.folder / "result.json", json.dumps(result, indent=2) + "\n")
        if not self.options.keep_checkpoints:
            remove_checkpoints(trial.folder)
        self.record(result)

    def record(self, result: dict) -> None:
        index = result["trial"]
        if result["status"] == "completed":
            self.client.complete_trial(index, raw_data={k: float(v) for k, v in result["metrics"].items()
                                                       if is_number(v)})
            print(f"[sweep] trial {index} completed: {self.options.objective} "
                  f"{result['metrics'][self.options.objective]:.4f} in {clock(result['seconds'])}",
                  file=sys.stderr)
        else:
            self.client.mark_trial_failed(index, failed_reason=result["reason"])
            print(f"[sweep] trial {index} failed: {result['reason']} "
                  f"(log {trial_folder(self.folder, index) / 'trial.log'})", file=sys.stderr)
        save_client(self.client, self.folder)
        rows = publish(self.folder, self.client, self.space, self.options)
        print(progress(rows, self.options, len(self.running)), file=sys.stderr, flush=True)

    def interrupt(self) -> None:
        """Stops the running trials so that the same command continues them."""
        for trial in self.running.values():
            code = stop_process(trial)
            for file in trial.files:
                file.close()
            seconds = trial.earlier_seconds + time.monotonic() - trial.started
            write_atomically(trial.folder / "interrupted.json",
                             json.dumps({"seconds": seconds, "exit_code": code}) + "\n")
        save_client(self.client, self.folder)
        print(f"[sweep] stopped: {len(self.running)} trial(s) will continue when the same command "
              "runs again", file=sys.stderr)

    def run(self) -> int:
        self.recover()
        self.launch()
        while self.running and not self.stop_signal:
            time.sleep(1.0)
            if not self.stop_signal:
                self.watch()
                self.launch()
        if self.stop_signal:
            self.interrupt()
            return 128 + self.stop_signal
        rows = publish(self.folder, self.client, self.space, self.options)
        best = best_row(rows, self.options.objective)
        if best is None:
            print(f"[sweep] no trial completed; see {self.folder}/trials.csv", file=sys.stderr)
            return 1
        print(f"[sweep] done: best {self.options.objective} {best['metrics'][self.options.objective]:.4f} "
              f"(trial {best['trial']}); {self.folder}/best.ini, trials.csv, trace.png, "
              "parameters.png", file=sys.stderr)
        return 0


def gpu_list(options, common: dict) -> list[str]:
    """The GPUs the trials take turns on; empty on a CPU-only machine or with --device cpu."""
    if common.get("device") == "cpu":
        return []
    if options.gpus:
        return [g.strip() for g in options.gpus.split(",") if g.strip()]
    if visible := os.environ.get("CUDA_VISIBLE_DEVICES"):
        return [g.strip() for g in visible.split(",") if g.strip()]
    if shutil.which("nvidia-smi"):
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        return [str(i) for i, line in enumerate(listed.stdout.splitlines())
                if line.startswith("GPU ")]
    return []


def quiet_ax() -> None:
    logging.getLogger("ax").setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("ax", "botorch", "gpytorch")):
            logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="ax")
    warnings.filterwarnings("ignore", module="botorch")
    warnings.filterwarnings("ignore", module="linear_operator")


def main(argv: list[str]) -> int:
    options = parse_arguments(argv)
    try:
        space = read_space(options.space)
        common = check_flags(options, space)
        folder = options.dir or Path("sweeps") / options.recipe.name.removeprefix("recipe_")
        import ax  # noqa: F401  (slow: after the checks, so mistakes are reported at once)
        quiet_ax()
        settings = settings_of(options, space)
        client, resumed = open_client(folder, settings, space, options.sweep_seed)
    except SweepError as error:
        print(f"scripts/sweep: {error}", file=sys.stderr)
        return 2
    quiet_ax()
    sweep = Sweep(options, space, common, client, folder)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda n, _: setattr(sweep, "stop_signal", n))
    done = sum(t.status.is_terminal for t in client._experiment.trials.values())
    print(f"[sweep] {'resuming' if resumed else 'starting'} {folder}: {done} of {options.trials} "
          f"trials done, {len(space.parameters)} parameters, maximising {options.objective}",
          file=sys.stderr, flush=True)
    return sweep.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
