"""``hydra/launcher=pack``: several jobs of a sweep at once on one machine, each in its own process, spread over its GPUs.

A 30M-parameter probe leaves most of an H100 idle, so a sweep packs ``slots`` jobs on the machine at once (docs/
sweeps.md): job i of a batch goes to GPU ``gpus[i % len(gpus)]`` (``CUDA_VISIBLE_DEVICES``), gets ``cores / slots``
CPU threads unless ``threads`` is set and a share of its GPU's memory (``gpu_memory``: by default 0.9 of the card
split among the jobs on it, harness/launch/gpu_share.py), and every job shares one Triton cache (compiled kernels are
built once; ``mps=true`` adds NVIDIA's Multi-Process Service, harness/launch/mps.py). The suite's data are generated
(or read from the cache) once in the launcher before the jobs start, not by every job at once. Each job runs Hydra's
own ``run_job`` in a fresh process (spawned: CUDA cannot be forked), so its directory, ``.hydra/``, log file and
callbacks are those of the basic launcher, and its console output goes to ``<job dir>/console.log``; the launcher
prints one line per job start and end.

A job that dies is named with the reason in ``<job dir>/failure.txt``, which the report lists: a CUDA
out-of-memory error ("GPU out of memory"), any other exception (its first line), or a process killed by a signal
(SIGKILL: most likely the kernel's out-of-memory killer, i.e. host memory). Hydra then fails the sweep after the
batch's other jobs have finished, as with the basic launcher; a rerun resumes the finished jobs.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from hybrid_eval.harness import store
from hybrid_eval.harness.errors import ConfigError, user_errors
from hybrid_eval.harness.launch import gpu_share, mps

log = logging.getLogger(__name__)
CONSOLE = "console.log"  # a packed job's stdout and stderr, in its directory


@dataclass
class Slot:
    """Where one job runs: its CUDA device (None: the launcher leaves CUDA_VISIBLE_DEVICES alone) and CPU threads."""

    gpu: str | None
    threads: int
    memory: float | None = None  # the share of its GPU's memory (harness/launch/gpu_share.py); None: no limit


def check_launcher(settings) -> None:
    """Every setting of a ``hydra.launcher`` config of this launcher (the sweep guard checks them before any job, so a
    bad one is one line, not Hydra's instantiation error)."""
    get = settings.get
    check_settings(get("slots", 4), get("gpus"), get("threads"))
    gpu_share.check(get("gpu_memory", "auto"))
    if not isinstance(get("mps", False), bool):
        raise ConfigError(f"hydra.launcher.mps={get('mps')!r}; accepted: true or false")


def check_settings(slots, gpus, threads) -> None:
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        raise ConfigError(f"hydra.launcher.slots={slots!r}; accepted: an integer >= 1 (jobs at once)")
    if gpus is not None and (isinstance(gpus, (str, int)) or not all(isinstance(g, (int, str)) for g in gpus)):
        raise ConfigError(f"hydra.launcher.gpus={gpus!r}; accepted: null (every visible GPU) or a list of CUDA "
                          "device indices, e.g. [0,1]")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"hydra.launcher.threads={threads!r}; accepted: null (cores / slots) or an integer >= 1")


def visible_gpus() -> list[str]:
    """The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries (none on a CPU machine)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def plan_slots(slots: int, gpus: Sequence | None, threads: int | None, cores: int,
               gpu_memory="auto") -> list[Slot]:
    """One :class:`Slot` per job at once: GPUs round robin, CPU threads split evenly (at least one each), each GPU's
    memory shared among the jobs on it (``gpu_memory``, see gpu_share.share)."""
    devices = [str(g) for g in gpus] if gpus is not None else visible_gpus()
    per_job = threads if threads is not None else max(1, cores // slots)
    placed = [devices[i % len(devices)] if devices else None for i in range(slots)]
    return [Slot(gpu, per_job, None if gpu is None else gpu_share.share(gpu_memory, placed.count(gpu)))
            for gpu in placed]


def describe_failure(error: BaseException | None, exitcode: int | None) -> str:
    """One line for failure.txt and the log: why a packed job ended without results."""
    if error is not None:
        first = (str(error).strip().splitlines() or [""])[0]
        if type(error).__name__ == "OutOfMemoryError" or "CUDA out of memory" in first:
            return f"GPU out of memory: {first[:300]}"
        if isinstance(error, MemoryError):
            return "host out of memory (MemoryError)"
        return f"{type(error).__name__}: {first[:300]}"
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.Signals._value2member_map_ else str(-exitcode)
        if -exitcode == signal.SIGKILL:
            return (f"killed by {name}: most likely the kernel's out-of-memory killer (host memory; `dmesg` says); "
                    "run fewer jobs at once (hydra.launcher.slots)")
        return f"killed by {name}"
    return f"the job's process exited with code {exitcode} before reporting"


def _job(task_function: TaskFunction, config: DictConfig, env: dict, console: str, conn) -> None:
    """One packed job, in its own spawned process: Hydra's run_job with this job's environment, output to a file.
    The job's config is complete (composed by the launcher); Hydra's resolvers are registered by setup_globals()
    and its HydraConfig by run_job, so no other Hydra state crosses the process boundary."""
    os.environ.update(env)
    fd = os.open(console, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from hydra._internal.callbacks import Callbacks  # what Hydra's own launchers build in their workers

    setup_globals()
    context = HydraContext(config_loader=None, callbacks=Callbacks(config))
    ret = run_job(hydra_context=context, task_function=task_function, config=config,
                  job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")
    error = ret._return_value if ret.status == JobStatus.FAILED else None
    conn.send((ret.status == JobStatus.COMPLETED, None if error is None else describe_failure(error, None)))
    conn.close()


class PackLauncher(Launcher):
    """Runs up to ``slots`` jobs at once, each in a spawned process with its GPU and threads (see the module doc)."""

    def __init__(self, slots: int = 4, gpus: Sequence | None = None, threads: int | None = None,
                 triton_cache: str | None = None, prepare_data: bool = True, gpu_memory="auto",
                 mps: bool = False) -> None:
        super().__init__()
        check_launcher({"slots": slots, "gpus": gpus, "threads": threads, "gpu_memory": gpu_memory, "mps": mps})
        self.slots, self.gpus, self.threads, self.gpu_memory, self.mps = slots, gpus, threads, gpu_memory, mps
        self.triton_cache, self.prepare_data = triton_cache, prepare_data
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _job_config(self, overrides: Sequence[str], idx: int) -> tuple[DictConfig, Path]:
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(config):
            config.hydra.job.id = idx
            config.hydra.job.num = idx
        HydraConfig.instance().set_config(config)  # resolves ${hydra:...} in the sweep subdir, as run_job does
        job_dir = Path(str(config.hydra.sweep.dir)) / str(OmegaConf.select(config, "hydra.sweep.subdir"))
        return config, job_dir

    def _fill_data_cache(self, configs: list[DictConfig]) -> None:
        """Each distinct suite's data once, before the jobs start (they then read it from the cache)."""
        from hybrid_eval.harness.run import suite_data

        seen = set()
        for config in configs:
            key = OmegaConf.to_yaml(OmegaConf.create({"suite": config.suite, "cache": config.cache_dir,
                                                       "n": [config.train.n_examples, config.train.n_validation,
                                                             config.eval.n_test]}))
            if key not in seen and config.get("cache_dir") is not None:
                seen.add(key)
                suite_data(config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        from hybrid_eval.harness.threads import usable_cores

        slots = plan_slots(self.slots, self.gpus, self.threads, usable_cores(), self.gpu_memory)
        jobs = [self._job_config(o, initial_job_idx + i) for i, o in enumerate(job_overrides)]
        where = ", ".join(sorted({f"GPU {s.gpu}" if s.gpu is not None else "CPU" for s in slots}))
        log.info("Packing %d jobs, %d at once (%s; %d threads each)", len(jobs), len(slots), where, slots[0].threads)
        if self.prepare_data:
            self._fill_data_cache([c for c, _ in jobs])
        with user_errors():  # cannot start MPS: one line, exit code 2, before any job
            daemon = mps.start() if self.mps and any(s.gpu is not None for s in slots) else None
        try:
            return self._run(jobs, job_overrides, initial_job_idx, slots, daemon.env if daemon else {})
        finally:
            if daemon is not None:
                daemon.stop()

    def job_env(self, slot: Slot, shared: dict[str, str]) -> dict[str, str]:
        """One job's environment: its GPU, its share of the GPU's memory, the Triton cache, the MPS pipes."""
        env = {} if slot.gpu is None else {"CUDA_VISIBLE_DEVICES": slot.gpu}
        if slot.memory is not None:
            env[gpu_share.ENV] = f"{slot.memory:.4f}"
        if self.triton_cache:
            env["TRITON_CACHE_DIR"] = str(Path(self.triton_cache).expanduser())
        return env | shared

    def _run(self, jobs, job_overrides, initial_job_idx: int, slots: list[Slot], shared: dict) -> list[JobReturn]:
        context = multiprocessing.get_context("spawn")
        pending = list(enumerate(zip(job_overrides, jobs)))
        running: dict[int, tuple] = {}  # slot -> (job index, process, connection, job dir, config, start time)
        results: dict[int, JobReturn] = {}
        while pending or running:
            for slot in [s for s in range(len(slots)) if s not in running]:
                if not pending:
                    break
                i, (overrides, (config, job_dir)) = pending.pop(0)
                with open_dict(config):
                    if config.get("threads") is None:
                        config.threads = slots[slot].threads
                job_dir.mkdir(parents=True, exist_ok=True)
                (job_dir / store.FAILURE).unlink(missing_ok=True)  # a rerun's job starts clean
                env = self.job_env(slots[slot], shared)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_job, args=(self.task_function, config, env,
                                                              str(job_dir / CONSOLE), send), daemon=False)
                process.start()
                send.close()
                running[slot] = (i, process, receive, job_dir, config, time.time())
                log.info("\t#%d : %s -> %s (%s)", initial_job_idx + i, " ".join(filter_overrides(overrides)),
                         job_dir, f"GPU {slots[slot].gpu}" if slots[slot].gpu is not None else "CPU")
            time.sleep(0.2)
            for slot, (i, process, receive, job_dir, config, start) in list(running.items()):
                if process.is_alive() and not receive.poll():
                    continue
                try:
                    message = receive.recv() if receive.poll() else None
                except EOFError:  # the process ended without a word: killed, or exited before reporting
                    message = None
                process.join()
                del running[slot]
                ok, reason = message if message is not None else (False, self._crash_reason(process.exitcode, job_dir))
                results[i] = self._job_return(config, job_dir, ok, reason, crashed=message is None)
                log.info("\t#%d %s in %.0f s%s", initial_job_idx + i, "finished" if ok else "FAILED",
                         time.time() - start, "" if ok else f": {reason} ({job_dir / CONSOLE})")
        return [results[i] for i in range(len(jobs))]

    @staticmethod
    def _crash_reason(exitcode: int | None, job_dir: Path) -> str:
        """A job whose process ended without reporting: a signal, or an exit code (a one-line user error, e.g. a bad
        knob, exits 2 after printing it: that line is the reason)."""
        if exitcode is not None and exitcode > 0:
            lines = [line for line in (job_dir / CONSOLE).read_text(errors="replace").splitlines() if line.strip()]
            if lines:
                return f"exit code {exitcode}: {lines[-1].strip()[:300]}"
        return describe_failure(None, exitcode)

    def _job_return(self, config: DictConfig, job_dir: Path, ok: bool, reason: str | None, crashed: bool) -> JobReturn:
        """The JobReturn Hydra's sweeper reads; a failed job's reason also goes to failure.txt (the report names
        it), and a job whose process died (no callbacks ran there) gets its on_job_end here."""
        ret = JobReturn(overrides=list(config.hydra.overrides.task), cfg=config, hydra_cfg=config, working_dir=str(job_dir))
        ret.status = JobStatus.COMPLETED if ok else JobStatus.FAILED
        ret._return_value = None if ok else RuntimeError(f"job {job_dir}: {reason}")
        if not ok:
            store.write_text(job_dir / store.FAILURE, reason + "\n")
            if crashed:
                self.hydra_context.callbacks.on_job_end(config=config, job_return=ret)
        return ret
