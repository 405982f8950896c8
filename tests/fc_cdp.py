#!/usr/bin/env python3
"""fc_cdp.py: drives a headless Chromium over its DevTools protocol (a websocket, spoken
here with the standard library alone) for the fleet page suite (it_page.sh).

Usage: fc_cdp.py DEVTOOLS_PORT URL
Opens URL in the browser's first page, then reads commands on stdin, one a line, and
answers each with one line on stdout:
  wait SECONDS JS   polls the expression JS every 50 ms until it is truthy:
                    "ok ELAPSED" or "timeout LAST_VALUE"
  eval JS           "value JSON"
  shot FILE         saves a PNG screenshot of the page: "ok"
A line of its own per command; EOF ends the driver.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


class WebSocket:
    """The client side of RFC 6455, text frames only: what the DevTools protocol needs."""

    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise IOError("websocket handshake: connection closed")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise IOError("websocket handshake refused: %r" % head[:200])

    def send(self, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)  # a client masks every frame
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise IOError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise IOError("websocket closed by the browser")
            if opcode in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return message.decode()


class Page:
    def __init__(self, port):
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events interleave with replies: skip them
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise IOError("%s: %s" % (method, reply["error"]))
                return reply["result"]

    def eval(self, js):
        r = self.call("Runtime.evaluate", expression=js, returnByValue=True)
        if "exceptionDetails" in r:
            return None
        return r["result"].get("value")


def main():
    port, url = int(sys.argv[1]), sys.argv[2]
    page = Page(port)
    page.call("Page.enable")
    page.call("Page.navigate", url=url)
    for line in sys.stdin:
        cmd, _, rest = line.strip().partition(" ")
        if cmd == "wait":
            secs, _, js = rest.partition(" ")
            start = time.monotonic()
            value = None
            while time.monotonic() - start < float(secs):
                value = page.eval(js)
                if value:
                    break
                time.sleep(0.05)
            print(("ok %.3f" % (time.monotonic() - start)) if value else
                  "timeout %s" % json.dumps(value), flush=True)
        elif cmd == "eval":
            print("value " + json.dumps(page.eval(rest)), flush=True)
        elif cmd == "shot":
            png = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            with open(rest, "wb") as f:
                f.write(base64.b64decode(png["data"]))
            print("ok", flush=True)
        else:
            print("error unknown command %r" % cmd, flush=True)


if __name__ == "__main__":
    main()
