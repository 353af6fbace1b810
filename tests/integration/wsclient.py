"""A minimal RFC 6455 WebSocket client for the tests, standard library only: the opening
handshake, masked client frames, text/binary messages (fragments reassembled), ping/pong
frames (pings are answered unless told otherwise) and the closing handshake."""

import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
        def __init__(self, status, head):
                super().__init__("WebSocket handshake refused: %r" % (head[:200],))
                self.status = status
                self.head = head


class Closed(Exception):
        """The connection ended: code and reason of the server's close frame (None when
        the connection ended without one)."""

        def __init__(self, code=None, reason=""):
                super().__init__("WebSocket closed (%r, %r)" % (code, reason))
                self.code = code
                self.reason = reason


def encode_frame(opcode, payload, fin=True, mask=True):
        head = bytearray([(0x80 if fin else 0) | opcode])
        n = len(payload)
        bit = 0x80 if mask else 0
        if n < 126:
                head.append(bit | n)
        elif n < 65536:
                head.append(bit | 126)
                head += struct.pack("!H", n)
        else:
                head.append(bit | 127)
                head += struct.pack("!Q", n)
        if not mask:
                return bytes(head) + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return bytes(head) + key + masked


class WebSocket:
        def __init__(self, host, port, path="/ws/", timeout=10, rcvbuf=None, headers=None,
                     subprotocol=None):
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if rcvbuf:
                        # Before connect, so the window the server sees stays small.
                        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                self.sock.settimeout(timeout)
                self.sock.connect((host, port))
                self.buf = b""
                self.answer_pings = True
                self.close_code = None
                self.close_reason = None
                self.closed = False
                self.pings = 0
                self._handshake(host, port, path, headers or {}, subprotocol)

        # -- handshake ---------------------------------------------------------------

        def _handshake(self, host, port, path, headers, subprotocol):
                key = base64.b64encode(os.urandom(16)).decode()
                lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                         "Upgrade: websocket", "Connection: Upgrade",
                         "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
                if subprotocol:
                        lines.append("Sec-WebSocket-Protocol: " + subprotocol)
                lines += ["%s: %s" % kv for kv in headers.items()]
                self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
                while b"\r\n\r\n" not in self.buf:
                        chunk = self.sock.recv(65536)
                        if not chunk:
                                raise HandshakeError(None, self.buf)
                        self.buf += chunk
                head, _, self.buf = self.buf.partition(b"\r\n\r\n")
                status_line = head.split(b"\r\n")[0].decode("latin-1")
                parts = status_line.split()
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                if status != 101:
                        raise HandshakeError(status, head)
                want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
                got = None
                for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.decode("latin-1").partition(":")
                        if name.strip().lower() == "sec-websocket-accept":
                                got = value.strip()
                if got != want:
                        raise HandshakeError(status, head)

        # -- sending -----------------------------------------------------------------

        def send_frame(self, opcode, payload, fin=True):
                self.sock.sendall(encode_frame(opcode, payload, fin=fin))

        def send_text(self, text):
                self.send_frame(OP_TEXT, text.encode())

        def send_json(self, obj):
                self.send_text(json.dumps(obj))

        def ping(self, payload=b""):
                self.send_frame(OP_PING, payload)

        def close(self, code=1000, reason=""):
                """Starts the closing handshake and waits briefly for the server's answer."""
                if self.closed:
                        return
                try:
                        self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode())
                        deadline = time.monotonic() + 2
                        while time.monotonic() < deadline:
                                self.recv_message(timeout=max(0.01, deadline - time.monotonic()))
                except (Closed, OSError, socket.timeout):
                        pass
                self.shutdown()

        def shutdown(self):
                self.closed = True
                try:
                        self.sock.close()
                except OSError:
                        pass

        # -- receiving ---------------------------------------------------------------

        def _read(self, n):
                while len(self.buf) < n:
                        try:
                                chunk = self.sock.recv(max(65536, n - len(self.buf)))
                        except ConnectionResetError:
                                chunk = b""
                        if not chunk:
                                self.closed = True
                                raise Closed(self.close_code, self.close_reason or "")
                        self.buf += chunk
                data, self.buf = self.buf[:n], self.buf[n:]
                return data

        def read_frame(self):
                """(fin, opcode, payload) of the next frame; server frames must not be masked."""
                b0, b1 = self._read(2)
                fin, opcode = bool(b0 & 0x80), b0 & 0x0F
                if b0 & 0x70:
                        raise AssertionError("reserved bits set in a server frame")
                if b1 & 0x80:
                        raise AssertionError("the server masked a frame")
                n = b1 & 0x7F
                if n == 126:
                        n = struct.unpack("!H", self._read(2))[0]
                elif n == 127:
                        n = struct.unpack("!Q", self._read(8))[0]
                return fin, opcode, self._read(n)

        def recv_message(self, timeout=None):
                """The next data message: str for text, bytes for binary. Answers ping frames
                on the way; raises Closed at a close frame or the end of the stream and
                socket.timeout when nothing complete arrives in time."""
                if timeout is not None:
                        self.sock.settimeout(timeout)
                parts, kind = [], None
                while True:
                        fin, opcode, payload = self.read_frame()
                        if opcode == OP_PING:
                                self.pings += 1
                                if self.answer_pings:
                                        self.send_frame(OP_PONG, payload)
                                continue
                        if opcode == OP_PONG:
                                continue
                        if opcode == OP_CLOSE:
                                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                                self.close_reason = payload[2:].decode("utf-8", "replace")
                                try:
                                        self.send_frame(OP_CLOSE, payload[:2])
                                except OSError:
                                        pass
                                self.shutdown()
                                raise Closed(self.close_code, self.close_reason)
                        if opcode in (OP_TEXT, OP_BINARY):
                                kind, parts = opcode, [payload]
                        elif opcode == OP_CONT:
                                parts.append(payload)
                        else:
                                raise AssertionError("unknown opcode %d" % opcode)
                        if fin:
                                data = b"".join(parts)
                                return data.decode() if kind == OP_TEXT else data

        def recv_json(self, timeout=None):
                return json.loads(self.recv_message(timeout))

        def wait_closed(self, timeout=10):
                """Reads until the server closes; returns its close code (None without a
                close frame). Fails when it does not close within timeout seconds."""
                deadline = time.monotonic() + timeout
                try:
                        while True:
                                left = deadline - time.monotonic()
                                if left <= 0:
                                        raise AssertionError("the server did not close the WebSocket")
                                self.recv_message(timeout=left)
                except Closed as e:
                        return e.code
                except socket.timeout:
                        raise AssertionError("the server did not close the WebSocket")

        def __enter__(self):
                return self

        def __exit__(self, *exc):
                self.close()
