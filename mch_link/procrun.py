"""Run a Procfile's processes together and stop them together, quietly.

    python -m mch_link.procrun Procfile            # every line `name: command`
    python -m mch_link.procrun web="..." worker="..."

Each process runs in its own session, so the terminal's Ctrl-C reaches only this runner, not
every child of every process (django-q's workers, signalled behind their cluster's back,
print pages of tracebacks). On Ctrl-C or SIGTERM, or when one process ends, the runner sends
SIGTERM to each process's leader, waits up to STOP_SECONDS for them to finish what they do,
then kills what is left of each process group. Commands run under /bin/sh as `exec env COMMAND`, so $VARS expand and
NAME=value prefixes work, and the process signalled is the command itself.
Standard library only: it starts before Django does.
"""

import os
import signal
import subprocess
import sys
import time

STOP_SECONDS = float(os.environ.get("PROCRUN_STOP_SECONDS", "8"))


def read_procfile(path):
    procs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _sep, command = line.partition(":")
                procs.append((name.strip(), command.strip()))
    return procs


def parse(argv):
    procs = []
    for arg in argv:
        if "=" in arg and not os.path.exists(arg):
            name, _sep, command = arg.partition("=")
            procs.append((name, command))
        else:
            procs.extend(read_procfile(arg))
    return procs


def run(procs, *, out=sys.stdout):
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children = {}
    for name, command in procs:
        children[name] = subprocess.Popen(["/bin/sh", "-c", f"exec env {command}"], start_new_session=True)
    code = 0
    try:
        while not stopping:
            ended = [(n, p) for n, p in children.items() if p.poll() is not None]
            if ended:
                name, proc = ended[0]
                code = proc.returncode or 0
                print(f"procrun: {name} ended (exit {proc.returncode}); stopping the others", file=out, flush=True)
                break
            time.sleep(0.2)
    finally:
        if stopping:
            print("procrun: stopping ...", file=out, flush=True)
        stop(children)
    print("procrun: stopped", file=out, flush=True)
    return code


def stop(children):
    for proc in children.values():
        if proc.poll() is None:
            _signal_leader(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in children.values():
        # whatever the leader left behind (a worker it did not reap) goes with the group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def _signal_leader(proc, signum):
    try:
        proc.send_signal(signum)
    except ProcessLookupError:
        pass


def main(argv=None):
    procs = parse(sys.argv[1:] if argv is None else argv)
    if not procs:
        print("usage: python -m mch_link.procrun Procfile | name=command ...", file=sys.stderr)
        return 2
    return run(procs)


if __name__ == "__main__":
    sys.exit(main())
