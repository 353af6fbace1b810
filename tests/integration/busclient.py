"""A D-Bus connection of our own, standard library only: enough to call methods with string
arguments and read their replies. The connection stays open until close(), and with it
whatever the daemon keeps for its caller (a Subscribe()), which busctl and dbus-send, gone
after one call, cannot hold."""

import os
import socket
import struct

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
FIELD_PATH, FIELD_INTERFACE, FIELD_MEMBER, FIELD_ERROR_NAME, FIELD_REPLY_SERIAL = 1, 2, 3, 4, 5
FIELD_DESTINATION, FIELD_SIGNATURE = 6, 8


class BusError(Exception):
        def __init__(self, name, message):
                super().__init__("%s: %s" % (name, message))
                self.name = name
                self.message = message


def _pad(buf, alignment):
        buf.extend(b"\0" * (-len(buf) % alignment))


def _string(buf, text):
        data = text.encode()
        _pad(buf, 4)
        buf.extend(struct.pack("<I", len(data)) + data + b"\0")


def _signature(buf, text):
        buf.extend(bytes([len(text)]) + text.encode() + b"\0")


class BusConnection:
        def __init__(self, address, timeout=10):
                """address: "unix:path=…" (as DBUS_SYSTEM_BUS_ADDRESS has it)."""
                path = dict(kv.split("=", 1) for kv in address[len("unix:"):].split(","))["path"]
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                self.serial = 0
                self.buffer = b""
                uid = str(os.geteuid()).encode().hex().encode()
                self.sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
                line = self._read_line()
                if not line.startswith(b"OK "):
                        raise BusError("auth", line.decode(errors="replace"))
                self.sock.sendall(b"BEGIN\r\n")
                self.unique_name = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "Hello")[0]

        def close(self):
                self.sock.close()

        def _read_line(self):
                while b"\r\n" not in self.buffer:
                        chunk = self.sock.recv(4096)
                        if not chunk:
                                raise BusError("closed", "the bus closed the connection")
                        self.buffer += chunk
                line, _, self.buffer = self.buffer.partition(b"\r\n")
                return line

        def _read_exactly(self, n):
                while len(self.buffer) < n:
                        chunk = self.sock.recv(65536)
                        if not chunk:
                                raise BusError("closed", "the bus closed the connection")
                        self.buffer += chunk
                data, self.buffer = self.buffer[:n], self.buffer[n:]
                return data

        def call(self, destination, path, interface, member, *args):
                """Calls member with string arguments; the reply's string arguments, or
                BusError for an error reply."""
                self.serial += 1
                body = bytearray()
                for a in args:
                        _string(body, a)
                fields = [(FIELD_PATH, "o", path), (FIELD_INTERFACE, "s", interface), (FIELD_MEMBER, "s", member),
                          (FIELD_DESTINATION, "s", destination)]
                if args:
                        fields.append((FIELD_SIGNATURE, "g", "s" * len(args)))
                array = bytearray()
                for code, sig, value in fields:
                        _pad(array, 8)
                        array.append(code)
                        _signature(array, sig)
                        if sig == "g":
                                _signature(array, value)
                        else:
                                _string(array, value)
                header = bytearray(struct.pack("<cBBBII", b"l", METHOD_CALL, 0, 1, len(body), self.serial))
                header += struct.pack("<I", len(array))
                # The array's elements start 8-aligned: 16 is.
                header += array
                _pad(header, 8)
                self.sock.sendall(bytes(header + body))
                while True:
                        kind, fields_read, body_read = self._read_message()
                        if fields_read.get(FIELD_REPLY_SERIAL) != self.serial:
                                continue
                        strings = self._strings(fields_read.get(FIELD_SIGNATURE, ""), body_read)
                        if kind == ERROR:
                                raise BusError(fields_read.get(FIELD_ERROR_NAME), strings[0] if strings else "")
                        return strings

        def _read_message(self):
                fixed = self._read_exactly(16)
                if fixed[:1] != b"l":
                        raise BusError("protocol", "big-endian messages are not read here")
                kind = fixed[1]
                body_len, _, fields_len = struct.unpack("<III", fixed[4:16])
                raw = self._read_exactly(fields_len + (-(16 + fields_len) % 8))
                body = self._read_exactly(body_len)
                fields = {}
                pos = 0
                while pos < fields_len:
                        pos += -pos % 8
                        code = raw[pos]
                        sig_len = raw[pos + 1]
                        sig = raw[pos + 2:pos + 2 + sig_len].decode()
                        pos += 3 + sig_len
                        if sig in ("s", "o"):
                                pos += -(16 + pos) % 4
                                n = struct.unpack("<I", raw[pos:pos + 4])[0]
                                fields[code] = raw[pos + 4:pos + 4 + n].decode()
                                pos += 5 + n
                        elif sig == "g":
                                n = raw[pos]
                                fields[code] = raw[pos + 1:pos + 1 + n].decode()
                                pos += 2 + n
                        elif sig == "u":
                                pos += -(16 + pos) % 4
                                fields[code] = struct.unpack("<I", raw[pos:pos + 4])[0]
                                pos += 4
                        else:
                                raise BusError("protocol", "header field of type %r" % sig)
                return kind, fields, body

        @staticmethod
        def _strings(signature, body):
                """The leading string arguments of a body ("" for others)."""
                out, pos = [], 0
                for sig in signature:
                        if sig not in "so":
                                break
                        pos += -pos % 4
                        n = struct.unpack("<I", body[pos:pos + 4])[0]
                        out.append(body[pos + 4:pos + 4 + n].decode())
                        pos += 5 + n
                return out
