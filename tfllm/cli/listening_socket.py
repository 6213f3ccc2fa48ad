"""The server's listening socket, bound before anything slow happens.

Binding first means a port in use, or an address this machine does not have, is refused
before the model loads, with one line that says which flag to change.
"""

import socket

from tfllm.errors import TfllmError


def listening_socket(host, port):
    """A bound, listening TCP socket for `host`:`port` (0 = any free port)."""
    if not 0 <= port <= 65535:
        raise TfllmError(f"--port must be in [0, 65535]. Received: --port {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise TfllmError(f"--host {host!r} is not an address of this machine "
                         f"({error.strerror}). Received: --host {host!r}") from None
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        advice = "choose another --port" if port else "check --host"
        raise TfllmError(f"Cannot listen on {host}:{port} ({error.strerror}): {advice}. "
                         f"Received: --host {host!r} --port {port}") from None
    sock.setblocking(False)
    return sock
