"""Run a script with every non-loopback network connection refused (an audit hook).

Usage: python tests/support/offline.py app.py [args...]
A connection attempt to any other host fails and is reported on stderr as
"OFFLINE-GUARD blocked ..." so tests can assert none happened.
"""

import ipaddress
import runpy
import sys


def _is_loopback(host) -> bool:
    if isinstance(host, str) and host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guard(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            sys.stderr.write(f"OFFLINE-GUARD blocked connect to {address[0]}\n")
            raise OSError("network access blocked by the offline guard")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode()
        if host and not _is_loopback(host):
            sys.stderr.write(f"OFFLINE-GUARD blocked lookup of {host}\n")
            raise OSError("network access blocked by the offline guard")


sys.addaudithook(_guard)
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, str(__import__("pathlib").Path(script).resolve().parent))
runpy.run_path(script, run_name="__main__")
