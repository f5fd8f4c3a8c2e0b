# A scripted Anthropic Messages API for tests: HTTPS on ADDR:443 with a test-CA certificate.
# usage: model_api.py ADDR CERT KEY SCRIPT LOG
#
# SCRIPT is JSON: {"turns": [{"bash": CMD} | {"text": TEXT}, ...], "loop": bool,
#                  "usage": {"input_tokens": N, "output_tokens": M}}; a turn may carry its own
# "usage". The turn answered is the number of assistant messages already in the conversation,
# so retries and side requests never advance the script. Past the end: the last tool turn again
# when "loop" is set, else a final "Done." Requests without "tools" (titles, summaries, quota
# checks) get a brief text. Every request is appended to LOG as one JSON line.
import http.server, json, ssl, sys, threading, uuid

ADDR, CERT, KEY, SCRIPT, LOG = sys.argv[1:6]
script = json.load(open(SCRIPT))
log_lock = threading.Lock()


def usage_of(turn):
    u = dict(script.get('usage') or {'input_tokens': 10, 'output_tokens': 5})
    u.update(turn.get('usage') or {})
    return u


def pick_turn(req):
    if not req.get('tools'):
        return {'text': 'OK', 'usage': {'input_tokens': 1, 'output_tokens': 1}}
    turns = script.get('turns') or []
    i = sum(1 for m in req.get('messages') or [] if m.get('role') == 'assistant')
    if i < len(turns):
        return turns[i]
    tools = [t for t in turns if 'bash' in t]
    if script.get('loop') and tools:
        return tools[-1]
    return {'text': 'Done.'}


def blocks(turn):
    if 'bash' in turn:
        tool_input = {'command': turn['bash'], 'description': 'Run the scripted command'}
        return [{'type': 'tool_use', 'id': 'toolu_' + uuid.uuid4().hex[:24], 'name': 'Bash',
                 'input': tool_input}], 'tool_use'
    return [{'type': 'text', 'text': turn['text']}], 'end_turn'


def message(req, turn, content, stop_reason, usage):
    return {'id': 'msg_' + uuid.uuid4().hex[:24], 'type': 'message', 'role': 'assistant',
            'model': req.get('model') or 'claude-test', 'content': content,
            'stop_reason': stop_reason, 'stop_sequence': None, 'usage': usage}


def sse_events(req, turn):
    """The event sequence of a streamed response, shaped as the real API sends it."""
    content, stop_reason = blocks(turn)
    usage = usage_of(turn)
    start_usage = {'input_tokens': usage['input_tokens'], 'cache_creation_input_tokens': 0,
                   'cache_read_input_tokens': 0, 'output_tokens': 1}
    start = message(req, turn, [], None, start_usage)
    yield 'message_start', {'type': 'message_start', 'message': start}
    for i, block in enumerate(content):
        if block['type'] == 'text':
            yield 'content_block_start', {'type': 'content_block_start', 'index': i,
                                          'content_block': {'type': 'text', 'text': ''}}
            yield 'ping', {'type': 'ping'}
            yield 'content_block_delta', {'type': 'content_block_delta', 'index': i,
                                          'delta': {'type': 'text_delta', 'text': block['text']}}
        else:
            yield 'content_block_start', {'type': 'content_block_start', 'index': i, 'content_block':
                                          dict(block, input={})}
            yield 'content_block_delta', {'type': 'content_block_delta', 'index': i, 'delta': {
                'type': 'input_json_delta', 'partial_json': json.dumps(block['input'])}}
        yield 'content_block_stop', {'type': 'content_block_stop', 'index': i}
    yield 'message_delta', {'type': 'message_delta',
                            'delta': {'stop_reason': stop_reason, 'stop_sequence': None},
                            'usage': {'output_tokens': usage['output_tokens']}}
    yield 'message_stop', {'type': 'message_stop'}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def record(self, body):
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode('utf-8', 'replace')
        entry = {'method': self.command, 'path': self.path,
                 'headers': {k.lower(): v for k, v in self.headers.items()}, 'body': parsed}
        with log_lock, open(LOG, 'a') as f:
            f.write(json.dumps(entry) + '\n')
        return parsed

    def reply(self, status, obj, content_type='application/json'):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.send_header('request-id', 'req_' + uuid.uuid4().hex[:24])
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        req = self.record(self.rfile.read(int(self.headers.get('Content-Length') or 0)))
        path = self.path.split('?')[0]
        if path == '/v1/messages/count_tokens':
            return self.reply(200, {'input_tokens': 10})
        if path != '/v1/messages' or not isinstance(req, dict):
            return self.reply(200, {})
        turn = pick_turn(req)
        if not req.get('stream'):
            content, stop_reason = blocks(turn)
            return self.reply(200, message(req, turn, content, stop_reason, usage_of(turn)))
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream; charset=utf-8')
        self.send_header('Cache-Control', 'no-cache')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('request-id', 'req_' + uuid.uuid4().hex[:24])
        self.end_headers()
        for event, data in sse_events(req, turn):
            self.chunk(('event: %s\ndata: %s\n\n' % (event, json.dumps(data))).encode())
        self.chunk(b'')

    def do_GET(self):
        self.record(b'')
        self.reply(200, {})

    def do_HEAD(self):
        self.record(b'')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def finish_request(self, request, client_address):
        # The handshake runs on the request's own thread, so a stalled client stalls nobody else.
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
ctx.set_alpn_protocols(['http/1.1'])
server = Server((ADDR, 443), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print('ready', flush=True)
server.serve_forever()
