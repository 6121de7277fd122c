"""A local HTTP receiver for notification tests: a threaded http.server on 127.0.0.1 (a free port)
that records every request and answers 200 "ok" - or fails the next n requests on purpose.

    def test_x(receiver):
        receiver.fail_next(2, status=503, retry_after=1)
        ... POST to receiver.url ...
        got = receiver.wait(3)            # the three requests, oldest first
        got[-1]["json"]["event"]

Each request is recorded as {path, headers (dict, names lower-cased), json (parsed body or None),
body (text), status (what was answered)}. It never talks to anything but its client.
"""

import contextlib
import datetime
import ipaddress
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """The server, its recordings and its failure plan."""

    def __init__(self, path="/hook/T000/B000/secret-token-0123456789", tls=None):
        """tls: (certificate file, key file) to serve HTTPS (see make_certificates)."""
        self.path = path
        self.tls = tls
        self.requests = []
        self._lock = threading.Condition()
        self._failures = []  # [(status, retry_after, body)] answered to the next requests, in order
        self._delay = 0.0
        self._server = None
        self._thread = None

    # -- control -------------------------------------------------------------------------------

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "%s://%s:%d%s" % ("https" if self.tls else "http", host, port, self.path)

    @property
    def port(self):
        return self._server.server_address[1]

    def fail_next(self, n, status=500, retry_after=None, body="failing on purpose"):
        """Answer the next n requests with status (and a Retry-After header when given)."""
        with self._lock:
            self._failures.extend([(status, retry_after, body)] * n)

    def delay_next(self, seconds):
        """Sleep this long before answering every following request (timeouts); 0 stops it."""
        with self._lock:
            self._delay = float(seconds)

    def wait(self, n, timeout=10):
        """The first n requests, once at least n have come; fails the test after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the receiver got %d request(s), not %d, within %ss" % (
                        len(self.requests), n, timeout))
                self._lock.wait(left)
            return list(self.requests[:n])

    def clear(self):
        with self._lock:
            self.requests = []
            self._failures = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: pytest shows what the test asserts
                pass

            def do_POST(self):
                receiver._handle(self)

            def do_GET(self):
                self._answer(405, "POST only")

            def _answer(self, status, text, retry_after=None):
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delay
        if delay:
            time.sleep(delay)
        status = failure[0] if failure else (200 if handler.path == self.path else 404)
        record = {"path": handler.path, "headers": dict((k.lower(), v) for k, v in handler.headers.items()),
                  "json": parsed, "body": body, "status": status, "at": time.time()}
        with self._lock:
            self.requests.append(record)
            self._lock.notify_all()
        if failure:
            handler._answer(status, failure[2], retry_after=failure[1])
        else:
            handler._answer(status, "ok" if status == 200 else "no_service")


def make_certificates(directory):
    """A throwaway CA and a certificate it signed for 127.0.0.1: (ca file, certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("receiver test CA")).issuer_name(name("receiver test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(str(directory), n) for n in ("ca.pem", "cert.pem", "key.pem")]
    with open(paths[0], "wb") as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return tuple(paths)


@contextlib.contextmanager
def running(**kwargs):
    """A started Receiver, stopped on the way out."""
    server = Receiver(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
