"""Import each project module named on the command line alone, each in a child process of its own.

Run by tests/test_architecture.py. Starting a fresh interpreter per module costs ~1-2 s of
imports of gradio, torch and transformers each (80 modules: over a minute on 2 cores). So this
interpreter imports the third-party libraries first (their names come on stdin, one a line) but
none of the project's own modules, then forks one child per project module: each child starts
with no project module loaded, so an import cycle or a missing import among our own modules
fails there as it would in a fresh interpreter. Prints one line per failure: `module<TAB>error`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback

PROJECT = ("playground", "models", "feedback_db", "tests")


def preload(libraries: list[str]) -> None:
    """Import the third-party libraries; one that fails is left for the children to report."""
    for library in libraries:
        with contextlib.suppress(Exception):  # the child that needs it reports it
            importlib.import_module(library)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)
    if loaded:
        raise SystemExit(f"a third-party import loaded project modules: {loaded[:5]}")


def start_child(module: str) -> tuple[int, int]:
    """Fork; the child imports `module` and exits 0, or writes its error to a pipe and exits 1.
    Returns the child's pid and the pipe's read end."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        code = 0
        try:
            importlib.import_module(module)
        except BaseException:
            os.write(write_end, traceback.format_exc()[-800:].encode())
            code = 1
        os._exit(code)  # no atexit handlers or buffered output of the parent run twice
    os.close(write_end)
    return pid, read_end


def finish_child(pid: int, read_end: int) -> str | None:
    """The child's error (None when its import succeeded), once it has exited."""
    with os.fdopen(read_end, "rb") as pipe:
        error = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return error or f"exit status {os.waitstatus_to_exitcode(status)}"
    return None


def main() -> None:
    preload([line.strip() for line in sys.stdin if line.strip()])
    # One child per core at a time (forked from this one thread, so no lock is held mid-fork):
    # importing is CPU work, and the children share nothing.
    modules, width = sys.argv[1:], max(os.cpu_count() or 1, 1)
    for start in range(0, len(modules), width):
        batch = modules[start : start + width]
        children = [start_child(module) for module in batch]
        for module, (pid, read_end) in zip(batch, children, strict=True):
            if (error := finish_child(pid, read_end)) is not None:
                print(f"{module}\t{error!r}", flush=True)


if __name__ == "__main__":
    main()
