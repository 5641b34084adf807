"""What the Python command-line tests share: a line per check with the running counts, and a
free TCP port of 127.0.0.1."""
import socket

passed = failed = 0


def check(what, ok, detail=""):
    """Prints "ok   WHAT" or "FAIL WHAT" (with DETAIL, indented, cut at 3000 characters) and
    counts it; returns `ok`."""
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not detail else "\n    " + detail.replace("\n", "\n    ")[:3000]))
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def summary():
    """The last line of a test, and its exit code: 1 when a check failed."""
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
