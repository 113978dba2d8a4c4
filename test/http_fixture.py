#!/usr/bin/env python3
"""A loopback HTTP server for medup's tests: it plays Medplum's servers and
GitHub.  Bound to 127.0.0.1 only, on two ports chosen by the kernel (the
second is "another port" for redirect tests), plus a port that was free and
is closed again (a refused connection).

    http_fixture.py DIR

writes DIR/ports ("main other closed tls") once listening, answers each GET
from DIR/routes.json (read again at every request, so a test changes the
answers by rewriting it), and appends "PORT PATH" to DIR/requests.log.

A route maps a path (with its query) to
    {"status": 200, "body": "text", "headers": {...},
     "delay": seconds, "huge": bytes, "no_length": true, "auth": "user:password",
     "releases": count}
"huge" sends that many bytes of a JSON string instead of "body";
"no_length" leaves Content-Length out (the body ends when the connection
closes); "auth" answers 401 unless the request carries those credentials
(HTTP basic); "releases" sends a GitHub releases list of that many
releases instead of "body".  Unknown paths answer 404.

When DIR/tls.pem and DIR/tls.key exist (a self-signed certificate), a
third server answers the same routes over TLS; otherwise its port is 0.
"""
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        port = self.server.server_address[1]
        with open(os.path.join(DIR, "requests.log"), "a") as log:
            log.write(f"{port} {self.path}\n")
        try:
            with open(os.path.join(DIR, "routes.json")) as f:
                routes = json.load(f)
        except FileNotFoundError:
            routes = {}
        route = routes.get(self.path)
        if route is None or port not in (self.server.main_port, self.server.tls_port):
            route = {"status": 404, "body": "not found"}

        if "auth" in route:
            expected = "Basic " + base64.b64encode(route["auth"].encode()).decode()
            if self.headers.get("Authorization") != expected:
                route = {"status": 401, "body": "unauthorized"}

        deadline = time.time() + route.get("delay", 0)
        while time.time() < deadline:
            time.sleep(0.05)

        if "huge" in route:
            size = int(route["huge"])
            body = b'"' + b"x" * (size - 2) + b'"'
        elif "releases" in route:
            body = releases(int(route["releases"]))
        else:
            body = route.get("body", "").encode()
        try:
            self.send_response(route.get("status", 200))
            self.send_header("Content-Type", "application/json")
            for name, value in route.get("headers", {}).items():
                self.send_header(name, value)
            if not route.get("no_length"):
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start:start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass    # the client gave up: what the size cap and cancels do


def releases(count):
    """A GitHub releases list of count releases, in GitHub's key order."""
    items = []
    for i in range(count):
        tag = f"v9.{i // 1000}.{i % 1000}"
        items.append(
            '{"url":"https://api.github.com/repos/medplum/medplum/releases/%d",'
            '"html_url":"https://github.com/medplum/medplum/releases/tag/%s","id":%d,'
            '"tag_name":"%s","target_commitish":"main","name":"Medplum %s",'
            '"draft":false,"prerelease":false,"created_at":"2026-01-01T00:00:00Z",'
            '"published_at":"2026-01-01T00:00:00Z","assets":[],"body":"What is new"}'
            % (i, tag, i, tag, tag))
    return ("[" + ",".join(items) + "]").encode()


def serve(main_port_holder):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    main_port_holder.append(server)
    return server


def main():
    servers = []
    main = serve(servers)
    other = serve(servers)
    tls_port = 0
    if os.path.exists(os.path.join(DIR, "tls.pem")):
        tls = serve(servers)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(DIR, "tls.pem"), os.path.join(DIR, "tls.key"))
        tls.socket = context.wrap_socket(tls.socket, server_side=True)
        tls_port = tls.server_address[1]
    for s in servers:
        s.main_port = main.server_address[1]
        s.tls_port = tls_port
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = os.path.join(DIR, "ports.tmp")
    with open(tmp, "w") as f:
        f.write(f"{main.server_address[1]} {other.server_address[1]} {closed_port} {tls_port}\n")
    os.rename(tmp, os.path.join(DIR, "ports"))
    while True:
        time.sleep(3600)


main()
