#!/usr/bin/python3
"""The HTTP side of test-package.py, run inside the container against pipelitd's socket
(127.0.0.1:8080), one new connection per request, as a browser or script would come.

  package-client.py get PATH              prints the status, then the body
  package-client.py login USERNAME        (password on stdin) prints the status, then the body
  package-client.py api METHOD PATH KEY   (JSON body on stdin, may be empty) with API key KEY;
                                          prints the status, then the body
  package-client.py load STOPFILE         GET /health in a loop until STOPFILE exists (at most
                                          two minutes); prints {"ok", "failed", "errors"}"""

import http.client
import json
import os
import sys
import time

PORT = 8080


def request(method, path, body=None, key=None):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        headers = {"Connection": "close"}
        if key:
                headers["Authorization"] = "Bearer " + key
        if body is not None:
                headers["Content-Type"] = "application/json"
        try:
                c.request(method, path, json.dumps(body) if body is not None else None, headers)
                r = c.getresponse()
                return r.status, r.read().decode(errors="replace")
        finally:
                c.close()


def load(stop_file):
        deadline = time.monotonic() + 120
        ok = failed = 0
        errors = []
        while not os.path.exists(stop_file) and time.monotonic() < deadline:
                try:
                        status, body = request("GET", "/health")
                        good = status == 200 and json.loads(body).get("status") == "ok"
                        error = f"{status} {body[:200]}"
                except (OSError, http.client.HTTPException, ValueError) as e:
                        good, error = False, repr(e)
                if good:
                        ok += 1
                else:
                        failed += 1
                        if len(errors) < 10:
                                errors.append(error)
        print(json.dumps({"ok": ok, "failed": failed, "errors": errors}))


def main():
        command = sys.argv[1]
        if command == "get":
                status, body = request("GET", sys.argv[2])
        elif command == "login":
                password = sys.stdin.readline().rstrip("\n")
                status, body = request("POST", "/api/v1/auth/token/",
                                       {"username": sys.argv[2], "password": password})
        elif command == "api":
                text = sys.stdin.read()
                status, body = request(sys.argv[2], sys.argv[3], json.loads(text) if text.strip() else None,
                                       sys.argv[4])
        elif command == "load":
                load(sys.argv[2])
                return
        else:
                sys.exit(f"unknown command {command}")
        print(status)
        print(body)


if __name__ == "__main__":
        main()
