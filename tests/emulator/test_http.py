"""The server's own HTTP/1.x layer, spoken to over a raw socket: framing, keep-alive, bad requests."""

from __future__ import annotations

import json
import socket

import pytest

from provision.emulator.testing import EmulatorHandle


def exchange(emu: EmulatorHandle, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    with socket.create_connection((emu.server.host, emu.server.port), timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def responses(data: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    """Each (status line, headers, body) in ``data``, framed by Content-Length."""
    found = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = 0 if status.startswith("HTTP/1.1 100") else int(headers.get("content-length", len(data)))
        found.append((status, headers, data[:length]))
        data = data[length:]
    return found


def split(response: bytes) -> tuple[str, dict[str, str], bytes]:
    [only] = responses(response)
    return only


def test_keep_alive_serves_two_requests_then_closes_on_request(emulator: EmulatorHandle) -> None:
    get = b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = responses(exchange(emulator, get + last))
    assert [status for status, _, _ in answers] == ["HTTP/1.1 200 OK"] * 2
    for _, headers, body in answers:
        assert json.loads(body)["status"] == "ok"
        assert {"date", "server", "x-acs-request-id", "content-type"} <= set(headers)


def test_http_1_0_closes_after_one_response(emulator: EmulatorHandle) -> None:
    status, _, body = split(exchange(emulator, b"GET /_emulator/health HTTP/1.0\r\n\r\n"))
    assert status == "HTTP/1.1 200 OK" and json.loads(body)["status"] == "ok"


def test_chunked_body_is_read(emulator: EmulatorHandle) -> None:
    payload = json.dumps({"advance_s": 5}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    before = emulator.world.clock.timestamp()
    head = (b"POST /_emulator/clock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    status, _, _ = split(exchange(emulator, head + chunked))
    assert status == "HTTP/1.1 200 OK"
    assert emulator.world.clock.timestamp() - before >= 5


def test_expect_100_continue_is_answered_before_the_body(emulator: EmulatorHandle) -> None:
    body = json.dumps({"advance_s": 1}).encode()
    response = exchange(emulator, b"POST /_emulator/clock HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                  b"Expect: 100-continue\r\nContent-Type: application/json\r\n"
                                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert [status for status, _, _ in responses(response)] == ["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"]


def test_head_gets_headers_without_a_body(emulator: EmulatorHandle) -> None:
    raw = exchange(emulator, b"HEAD /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")  # no HEAD control route: only the framing matters
    assert b"Content-Length: " in head and body == b""


@pytest.mark.parametrize(("raw", "status"), [
    (b"NONSENSE\r\n\r\n", "HTTP/1.1 400 Bad request line 'NONSENSE'"),
    (b"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 400 Bad request line 'GET / HTTP/2.0'"),
    (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", "HTTP/1.1 400 Bad header line b'no colon here\\r\\n'"),
    (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", "HTTP/1.1 431 Too many headers"),
])
def test_malformed_requests_get_an_error_and_a_closed_connection(emulator: EmulatorHandle, raw: bytes,
                                                                 status: str) -> None:
    assert exchange(emulator, raw).decode("latin-1").split("\r\n")[0] == status
