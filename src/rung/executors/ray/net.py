"""Socket options for the connections between the driver and its Ray actors."""

from __future__ import annotations

import socket
import struct


def set_nodelay(fd: int) -> None:
    """Disable Nagle's algorithm: a result and the reply it waits for are small writes that
    must not wait for each other's acknowledgements."""
    s = socket.socket(fileno=fd)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a test double): nothing to tune
        pass
    finally:
        s.detach()


def set_recv_timeout(fd: int, seconds: float) -> None:
    """Bound blocking reads on ``fd`` (0: no bound), so a stray connection that never completes
    the handshake cannot hang the driver."""
    s = socket.socket(fileno=fd)
    try:
        sec = int(seconds)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", sec, int((seconds - sec) * 1e6)))
    except (OSError, struct.error):  # best effort
        pass
    finally:
        s.detach()


__all__ = ["set_nodelay", "set_recv_timeout"]
