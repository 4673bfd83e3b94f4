"""`digits tune` workers sharing one study on a real PostgreSQL server (started here, torn down after).

The fixture runs Debian's ``postgresql`` binaries (``initdb``, ``pg_ctl``) on a free loopback port with
its data and socket in a temporary folder. PostgreSQL refuses to run as root, so as root (CI) it runs
them as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg2")

from handwritten_digits.training.studies import open_storage  # noqa: E402


def _load(name: str, url: str):
    return optuna.load_study(study_name=name, storage=open_storage(url, heartbeat=None))


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql, or `make system-deps`)")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="digits-pg-"))
    if os.getuid() == 0:  # postgres will not run as root: hand the folder to the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def pg(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=60)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "digits", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "30", "start")
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace") + (log.read_text() if log.exists() else "")
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {detail[-2000:]}")
    try:
        yield f"postgresql://digits@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _worker(url: str, study: str, data_dir, tmp_path, *extra: str) -> subprocess.Popen:
    """A separate ``digits tune`` process, as it would run on another machine."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DIGITS_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "handwritten_digits", "tune", "--storage", url, "--study", study, "--quiet",
           "--threads", "1", "--no-plots", "--out", str(tmp_path / "out"), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> str:  # generous: CI machines may be busy
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return err


def test_two_workers_share_one_study(postgres_url, data_dir, tmp_path):
    args = ["--model", "logreg", "--trials", "3", "--limit", "300"]
    workers = [_worker(postgres_url, "shared", data_dir, tmp_path, *args) for _ in range(2)]
    for proc in workers:
        _finish(proc)
    study = _load("shared", postgres_url)
    assert len(study.trials) == 6
    assert {t.state for t in study.trials} <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    by_worker = {}
    for t in study.trials:
        by_worker.setdefault(t.user_attrs["worker"], []).append(t.number)
    assert {int(w.rsplit(":", 1)[1]) for w in by_worker} == {p.pid for p in workers}
    assert sorted(len(v) for v in by_worker.values()) == [3, 3]
    # each worker seeds its own sampler: they did not draw the same points
    assert len({t.params["clf__C"] for t in study.trials}) == 6


def test_killed_worker_leaves_the_study_usable(postgres_url, data_dir, tmp_path):
    storage = postgres_url
    # trials of a second or more each (3,000 digits took 0.2-0.4 s: a kill could land between two), so the
    # worker is surely inside one when it is killed
    args = ["--model", "svm", "--limit", "10000", "--heartbeat", "1", "--pruner", "none"]
    victim = _worker(storage, "killed", data_dir, tmp_path, *args, "--trials", "100")
    deadline = time.monotonic() + 240
    try:
        while True:
            assert time.monotonic() < deadline, "the worker never got a trial going"
            assert victim.poll() is None, victim.communicate()[1][-3000:]
            try:
                trials = _load("killed", storage).trials
            except KeyError:  # study not created yet
                trials = []
            states = [t.state.name for t in trials]
            if "COMPLETE" in states and states[-1] == "RUNNING":
                break
            time.sleep(0.2)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    victim.stdout.close()
    victim.stderr.close()

    before = _load("killed", storage)
    completed = {t.number: (t.value, t.params) for t in before.trials if t.state.name == "COMPLETE"}
    orphan = before.trials[-1].number
    assert completed and before.trials[-1].state.name == "RUNNING"

    time.sleep(2.5)  # past the 2-heartbeat grace period of the dead worker
    _finish(_worker(storage, "killed", data_dir, tmp_path, *args, "--trials", "2"))
    after = _load("killed", storage)
    states = {t.number: t.state.name for t in after.trials}
    assert states[orphan] == "FAIL"  # the newcomer marked the dead worker's trial failed
    assert {t.number: (t.value, t.params) for t in after.trials if t.number in completed} == completed
    assert sum(s == "COMPLETE" for s in states.values()) == len(completed) + 2
    assert after.best_value >= max(v for v, _ in completed.values())
