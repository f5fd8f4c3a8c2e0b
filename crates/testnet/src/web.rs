//! The plain test web server: HTTP on :80 and HTTPS (TLS 1.3, the test CA's leaf) on :443 of
//! the internet side's initial addresses (argv after cert and key), answering with the Host it was asked for (or, at /headers, every header it got), bulk bodies for
//! throughput, git's smart HTTP protocol for clone tests, and a reflecting server's endpoints:
//! `/echo` (request line and headers back in the body and in `X-Echo-Authorization`; `?gzip=1`
//! compressed whatever was asked, `?b64=1` base64 of the Authorization header, `?br=1` labelled
//! with an encoding nobody can scan) and `/ws-echo` (a websocket that first sends the upgrade
//! request's Authorization header, then echoes every message).

pub(crate) const WEB_SERVER: &str = r#"
import base64, gzip, hashlib, http.server, os, ssl, struct, subprocess, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def echo(self):
        # A reflecting server: what it was sent comes back, as error pages and echo APIs do. The
        # path also comes back reversed, which no scrubber undoes: the test sees what arrived.
        auth = self.headers.get('Authorization') or ''
        text = '%s %s\nreversed-path: %s\n' % (self.command, self.path, self.path[::-1])
        text += ''.join('%s: %s\n' % (k, v) for k, v in self.headers.items())
        body, encoding = text.encode(), None
        if 'b64=1' in self.path:
            body = base64.b64encode(auth.encode()) + b'\n'
        if 'gzip=1' in self.path:
            body, encoding = gzip.compress(body), 'gzip'
        if 'br=1' in self.path:
            encoding = 'br'
        self.send_response(200)
        self.send_header('X-Echo-Authorization', auth)
        if encoding: self.send_header('Content-Encoding', encoding)
        self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def ws_echo(self):
        key = self.headers.get('Sec-WebSocket-Key') or ''
        accept = base64.b64encode(hashlib.sha1((key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest())
        self.send_response(101); self.send_header('Upgrade', 'websocket'); self.send_header('Connection', 'Upgrade')
        self.send_header('Sec-WebSocket-Accept', accept.decode()); self.end_headers(); self.wfile.flush()
        def send(opcode, payload):
            n = len(payload)
            head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack('>H', n) if n < 65536 else bytes([127]) + struct.pack('>Q', n))
            self.wfile.write(head + payload); self.wfile.flush()
        send(1, ('auth: ' + (self.headers.get('Authorization') or '')).encode())
        while True:
            head = self.rfile.read(2)
            if len(head) < 2: break
            opcode, n = head[0] & 0x0f, head[1] & 0x7f
            if n == 126: n = struct.unpack('>H', self.rfile.read(2))[0]
            elif n == 127: n = struct.unpack('>Q', self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b'\0\0\0\0'
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if opcode == 8:
                send(8, data); break
            send(opcode, data)
        self.close_connection = True
    def do_GET(self):
        if self.path.startswith('/echo'):
            return self.echo()
        if self.path == '/ws-echo':
            return self.ws_echo()
        if self.path.startswith('/repo.git/'):
            return self.git()
        if self.path.startswith('/bulk/'):
            size = int(self.path[6:])
            self.send_response(200); self.send_header('Content-Length', str(size)); self.end_headers()
            chunk = b'x' * 65536
            while size > 0:
                self.wfile.write(chunk[:min(size, 65536)]); size -= 65536
            return
        if self.path == '/ws':
            # An upgrade, then an echo of the first four bytes: enough to prove the tunnel.
            self.send_response(101); self.send_header('Upgrade', 'websocket')
            self.send_header('Connection', 'Upgrade'); self.end_headers(); self.wfile.flush()
            self.wfile.write(self.rfile.read(4)); self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith('/headers'):
            # What arrived, so a test can see what the proxy put into the request; with
            # `?reversed=1` each value reversed, which no response scrubber undoes.
            flip = (lambda v: v[::-1]) if 'reversed=1' in self.path else (lambda v: v)
            body = ''.join('%s: %s\n' % (k, flip(v)) for k, v in self.headers.items()).encode()
            self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
            return self.wfile.write(body)
        body = ('hello from %s\n' % self.headers.get('Host')).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        if self.path.startswith('/echo'):
            self.rfile.read(int(self.headers.get('Content-Length') or 0))
            return self.echo()
        if self.path.startswith('/repo.git/'):
            return self.git()
        if self.path.startswith('/ok/'):
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            reply = ('got %d bytes\n' % len(body)).encode()
            self.send_response(200); self.send_header('Content-Length', str(len(reply))); self.end_headers()
            return self.wfile.write(reply)
        self.send_error(405)
    def git(self):
        # git's smart HTTP protocol: hand the request to `git http-backend` as a CGI script.
        path, _, query = self.path.partition('?')
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        env = dict(os.environ, GIT_PROJECT_ROOT=os.path.dirname(sys.argv[1]), GIT_HTTP_EXPORT_ALL='1',
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get('Content-Type') or '', CONTENT_LENGTH=str(len(body)),
                   REMOTE_ADDR=self.client_address[0], HTTP_GIT_PROTOCOL=self.headers.get('Git-Protocol') or '',
                   HTTP_CONTENT_ENCODING=self.headers.get('Content-Encoding') or '')
        out = subprocess.run(['git', 'http-backend'], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b'\r\n\r\n')
        status, headers = 200, []
        for line in head.decode().split('\r\n'):
            k, _, v = line.partition(':')
            if k.lower() == 'status': status = int(v.split()[0])
            elif k: headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header('Content-Length', str(len(payload))); self.end_headers()
        self.wfile.write(payload)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer.request_queue_size = 4096
# Bound per address, not to 0.0.0.0, so names added later can have servers of their own on :443.
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
for addr in sys.argv[3:]:
    s80 = http.server.ThreadingHTTPServer((addr, 80), H)
    s443 = http.server.ThreadingHTTPServer((addr, 443), H)
    s443.socket = ctx.wrap_socket(s443.socket, server_side=True)
    for s in (s80, s443):
        threading.Thread(target=s.serve_forever, daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
"#;
