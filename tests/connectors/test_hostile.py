"""Hostile and broken servers, written here on real sockets: huge, malformed and stalled answers and path-like
names get a recorded error and a bounded run — never a read outside the source, an unbounded read or a hang."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from connutil import csg, found, state, sync  # noqa: F401 (csg: a fixture)


class FakeServer:
    """Accepts connections and answers each with ``handler(conn)`` in a thread."""

    def __init__(self, handler) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(2)


def read_request(conn: socket.socket) -> tuple[str, str]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length:")), 0)
    while len(rest) < length:
        rest += conn.recv(65536)
    method, path, _ = lines[0].split(" ", 2)
    return method, path


def multistatus(*hrefs: str) -> bytes:
    parts = "".join(f"<d:response><d:href>{h}</d:href><d:propstat><d:prop><d:resourcetype/>"
                    f"<d:getetag>\"{i}\"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
                    f"</d:response>" for i, h in enumerate(hrefs))
    return f'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">{parts}</d:multistatus>'.encode()


def http(conn: socket.socket, status: str, body: bytes, extra: str = "") -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n".encode()
                 + body)


def add_webdav(csg, port: int, name: str = "evil") -> str:
    from spyglass.app.connectors import add_source

    add_source(csg, "webdav", f"http://127.0.0.1:{port}/share/", name=name, owner="user:alice",
               settings={"timeout_s": "1"})
    return name


def test_path_like_names_stay_names(csg, tmp_path):
    """hrefs that climb out of the share are recorded, not fetched; names with separators are names."""
    fetched: list[str] = []

    def handler(conn, stop):
        method, path = read_request(conn)
        if method == "PROPFIND":
            http(conn, "207 Multi-Status", multistatus(
                "/share/", "/share/../../etc/passwd", "/share/..%2F..%2Fsecret.txt", "/share/ok%2F..%2F..%2Fx.txt",
                "http://elsewhere.example/other/file.txt", "/share/fine.txt"), "Content-Type: application/xml\r\n")
        else:
            fetched.append(path)
            http(conn, "200 OK", b"the pangolinword is here\n")

    srv = FakeServer(handler)
    try:
        st = sync(csg, add_webdav(csg, srv.port))
    finally:
        srv.close()
    assert not any(".." in p or "etc" in p or "other" in p for p in fetched), fetched
    assert st["errors"].get("unsafe-path") == 4, st
    assert found(csg, "pangolinword") == ["fine.txt"]
    failures = [f for f in csg.status()["failures"] if f["kind"] == "unsafe-path"]
    assert len(failures) == 4 and all("/" not in f["name"] for f in failures)
    assert not any("passwd" in p.name for p in Path(csg.home).rglob("*"))


def test_huge_malformed_and_stalled_answers_are_bounded(csg):
    from spyglass.sources import http as dav_http

    def huge(conn, stop):  # announces 10 GB
        read_request(conn)
        conn.sendall(b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 10000000000\r\n\r\n<x>")

    def endless(conn, stop):  # no length, streams until stopped
        read_request(conn)
        conn.sendall(b"HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n\r\n")
        chunk = b"<d:x>" * 20000
        while not stop.is_set():
            conn.sendall(chunk)

    def malformed(conn, stop):
        read_request(conn)
        http(conn, "207 Multi-Status", b"<d:multistatus xmlns:d='DAV:'><d:response><d:href>/share/a")

    def entities(conn, stop):  # billion laughs
        read_request(conn)
        http(conn, "207 Multi-Status", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
                                       b'<d:multistatus xmlns:d="DAV:">&b;</d:multistatus>')

    def stall(conn, stop):
        read_request(conn)
        stop.wait(30)

    old = dav_http.MAX_XML_BYTES
    dav_http.MAX_XML_BYTES = 2 * 1024 * 1024  # the cap under test (32 MB in use): keeps the test quick
    try:
        for n, handler in enumerate((huge, endless, malformed, entities, stall)):
            srv = FakeServer(handler)
            try:
                name = add_webdav(csg, srv.port, f"bad{n}")
                t0 = time.monotonic()
                st = sync(csg, name)
                assert time.monotonic() - t0 < 10, handler.__name__
            finally:
                srv.close()
            s = state(csg, name)
            assert st["errors"].get("source-failing") == 1 and s["state"] == "failing", handler.__name__
            assert s["last_error"], handler.__name__
    finally:
        dav_http.MAX_XML_BYTES = old
    errors = {s["name"]: s["last_error"] for s in csg.status()["sources"] if s.get("state") == "failing"}
    assert len(errors) == 5 and "stalled" in errors["bad4"] and "DOCTYPE" in errors["bad3"], errors


def test_oversized_file_is_recorded_and_the_rest_indexed(csg):
    def handler(conn, stop):
        method, path = read_request(conn)
        if method == "PROPFIND":
            http(conn, "207 Multi-Status", multistatus("/share/", "/share/big.bin", "/share/small.txt"))
        elif path.endswith("big.bin"):
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b"x" * 65536)
        else:
            http(conn, "200 OK", b"the armadilloword\n")

    srv = FakeServer(handler)
    try:
        st = sync(csg, add_webdav(csg, srv.port))  # the 64 MB cap per item ends the endless body
    finally:
        srv.close()
    assert st["errors"].get("too-large") == 1 and found(csg, "armadilloword") == ["small.txt"], st


@pytest.mark.parametrize("greeting", [
    b"* OK ready\r\n",  # then a 10 GB literal
    b"garbage that is not IMAP\r\n",
    b"",  # stalls
])
def test_hostile_imap_server(csg, greeting):
    from spyglass.app.connectors import add_source

    def handler(conn, stop):
        if greeting:
            conn.sendall(greeting)
        else:
            stop.wait(30)
            return
        f = conn.makefile("rb")
        while not stop.is_set():
            line = f.readline()
            if not line:
                return
            tag = line.split(b" ")[0]
            if b"CAPABILITY" in line.upper():
                conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
            elif b"LOGIN" in line.upper():
                conn.sendall(tag + b" OK logged in\r\n")
            elif b"LIST" in line.upper():
                conn.sendall(b'* LIST () "/" INBOX\r\n' + tag + b" OK\r\n")
            elif b"EXAMINE" in line.upper():
                conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n" + tag + b" OK [READ-ONLY] done\r\n")
            elif b"FETCH" in line.upper():
                conn.sendall(b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE {10000000000}\r\n")
                stop.wait(5)
                return
            else:
                conn.sendall(tag + b" BAD what\r\n")

    srv = FakeServer(handler)
    os.environ["TEST_HOSTILE_IMAP"] = "pw-Hostile-1"
    try:
        add_source(csg, "imap", f"imap://127.0.0.1:{srv.port}", name="evil-imap", owner="user:alice",
                   settings={"user": "alice", "password_env": "TEST_HOSTILE_IMAP", "timeout_s": "1"})
        t0 = time.monotonic()
        st = sync(csg, "evil-imap")
        assert time.monotonic() - t0 < 10
    finally:
        srv.close()
    s = state(csg, "evil-imap")
    assert st["errors"].get("source-failing") == 1 and s["state"] == "failing" and s["last_error"], (st, s)
    assert "pw-Hostile-1" not in s["last_error"]
