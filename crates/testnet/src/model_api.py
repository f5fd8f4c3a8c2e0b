# A scripted model API for tests, speaking each provider's wire format: HTTPS on ADDR:443 with a
# test-CA certificate. usage: model_api.py ADDR CERT KEY SCRIPT LOG
#
# SCRIPT is JSON: {"turns": [{"bash": CMD} | {"text": TEXT}, ...], "loop": bool,
#                  "usage": {"input_tokens": N, "output_tokens": M}}; a turn may carry its own
# "usage". The turn answered is the number of model turns already in the conversation, so
# retries and side requests never advance the script. Past the end: the last tool turn again
# when "loop" is set, else a final "Done." Requests without tools (titles, summaries, checks)
# get a brief text. Every request is appended to LOG as one JSON line.
#
# Formats, by path:
#   POST /v1/messages                      Anthropic Messages (Claude Code), SSE or JSON
#   POST /v1/responses                     OpenAI Responses (Codex), SSE or JSON
#   POST /v1/chat/completions              OpenAI Chat Completions (aider), SSE or JSON
#   POST /v1beta/models/M:streamGenerateContent, :generateContent   Gemini (Gemini CLI)
# A shell turn becomes the client's own shell tool, found by name in the request's tools; a
# Chat Completions request without tools gets the command in a ```bash block, which is how
# aider is asked to run one.
import http.server, json, ssl, sys, threading, time, uuid

ADDR, CERT, KEY, SCRIPT, LOG = sys.argv[1:6]
script = json.load(open(SCRIPT))
log_lock = threading.Lock()


def uid(prefix, n=24):
    return prefix + uuid.uuid4().hex[:n]


def usage_of(turn):
    u = dict(script.get('usage') or {'input_tokens': 10, 'output_tokens': 5})
    u.update(turn.get('usage') or {})
    return u


SIDE = {'text': 'OK', 'usage': {'input_tokens': 1, 'output_tokens': 1}}


def pick_turn(done, has_tools):
    """The script's turn after `done` model turns."""
    if not has_tools:
        return SIDE
    turns = script.get('turns') or []
    if done < len(turns):
        return turns[done]
    tools = [t for t in turns if 'bash' in t]
    if script.get('loop') and tools:
        return tools[-1]
    return {'text': 'Done.'}


def tool_names(tools):
    """Every tool name offered, namespaces (Codex) and declaration lists (Gemini) included."""
    names = []
    for t in tools or []:
        names.append(t.get('name') or (t.get('function') or {}).get('name') or t.get('type'))
        names += tool_names(t.get('tools'))
        names += tool_names(t.get('functionDeclarations') or t.get('function_declarations'))
    return [n for n in names if n]


def shell_call(names, cmd):
    """(tool name, arguments) for running `cmd` with the first shell tool the client offers."""
    for name, args in [('Bash', {'command': cmd, 'description': 'Run the scripted command'}),
                       ('shell_command', {'command': cmd}),
                       ('shell', {'command': ['bash', '-lc', cmd]}),
                       ('exec_command', {'cmd': cmd}),
                       ('run_shell_command', {'command': cmd, 'description': 'Run the scripted command'})]:
        if name in names:
            return name, args
    return None


# --- Anthropic Messages -------------------------------------------------------------------

def anthropic(req):
    done = sum(1 for m in req.get('messages') or [] if m.get('role') == 'assistant')
    turn = pick_turn(done, bool(req.get('tools')))
    call = 'bash' in turn and shell_call(tool_names(req.get('tools')), turn['bash'])
    if call:
        content = [{'type': 'tool_use', 'id': uid('toolu_'), 'name': call[0], 'input': call[1]}]
        stop = 'tool_use'
    else:
        content, stop = [{'type': 'text', 'text': turn.get('text', 'OK')}], 'end_turn'
    usage = usage_of(turn)

    def message(content, stop, usage):
        return {'id': uid('msg_'), 'type': 'message', 'role': 'assistant',
                'model': req.get('model') or 'claude-test', 'content': content,
                'stop_reason': stop, 'stop_sequence': None, 'usage': usage}
    if not req.get('stream'):
        return message(content, stop, usage)

    def events():
        start_usage = {'input_tokens': usage['input_tokens'], 'cache_creation_input_tokens': 0,
                       'cache_read_input_tokens': 0, 'output_tokens': 1}
        yield 'message_start', {'type': 'message_start', 'message': message([], None, start_usage)}
        for i, block in enumerate(content):
            if block['type'] == 'text':
                yield 'content_block_start', {'type': 'content_block_start', 'index': i,
                                              'content_block': {'type': 'text', 'text': ''}}
                yield 'ping', {'type': 'ping'}
                delta = {'type': 'text_delta', 'text': block['text']}
            else:
                yield 'content_block_start', {'type': 'content_block_start', 'index': i,
                                              'content_block': dict(block, input={})}
                delta = {'type': 'input_json_delta', 'partial_json': json.dumps(block['input'])}
            yield 'content_block_delta', {'type': 'content_block_delta', 'index': i, 'delta': delta}
            yield 'content_block_stop', {'type': 'content_block_stop', 'index': i}
        yield 'message_delta', {'type': 'message_delta',
                                'delta': {'stop_reason': stop, 'stop_sequence': None},
                                'usage': {'output_tokens': usage['output_tokens']}}
        yield 'message_stop', {'type': 'message_stop'}
    return events()


# --- OpenAI Responses ---------------------------------------------------------------------

CALL_ITEMS = ('function_call', 'custom_tool_call', 'local_shell_call')


def responses(req):
    items = req.get('input') if isinstance(req.get('input'), list) else []
    done = sum(1 for i in items if i.get('type') in CALL_ITEMS
               or (i.get('type') in (None, 'message') and i.get('role') == 'assistant'))
    # Codex sends its tools as an input item as well as (or instead of) in `tools`.
    offered = (req.get('tools') or []) + [t for i in items if i.get('type') == 'additional_tools'
                                          for t in i.get('tools') or []]
    turn = pick_turn(done, bool(offered))
    call = 'bash' in turn and shell_call(tool_names(offered), turn['bash'])
    if call:
        item = {'type': 'function_call', 'id': uid('fc_'), 'call_id': uid('call_'), 'name': call[0],
                'arguments': json.dumps(call[1]), 'status': 'completed'}
    else:
        item = {'type': 'message', 'id': uid('msg_'), 'role': 'assistant', 'status': 'completed',
                'content': [{'type': 'output_text', 'text': turn.get('text', 'OK'), 'annotations': []}]}
    u = usage_of(turn)
    response = {'id': uid('resp_'), 'object': 'response', 'created_at': int(time.time()),
                'model': req.get('model') or 'gpt-test', 'status': 'completed', 'output': [item],
                'usage': {'input_tokens': u['input_tokens'], 'input_tokens_details': {'cached_tokens': 0},
                          'output_tokens': u['output_tokens'],
                          'output_tokens_details': {'reasoning_tokens': 0},
                          'total_tokens': u['input_tokens'] + u['output_tokens']}}
    if not req.get('stream'):
        return response

    def events():
        started = dict(response, status='in_progress', output=[], usage=None)
        yield 'response.created', {'response': started}
        yield 'response.in_progress', {'response': started}
        if item['type'] == 'message':
            empty = dict(item, status='in_progress', content=[])
            yield 'response.output_item.added', {'output_index': 0, 'item': empty}
            yield 'response.output_text.delta', {'item_id': item['id'], 'output_index': 0,
                                                 'content_index': 0, 'delta': item['content'][0]['text']}
        else:
            yield 'response.output_item.added', {'output_index': 0,
                                                 'item': dict(item, arguments='', status='in_progress')}
            yield 'response.function_call_arguments.delta', {'item_id': item['id'], 'output_index': 0,
                                                             'delta': item['arguments']}
        yield 'response.output_item.done', {'output_index': 0, 'item': item}
        yield 'response.completed', {'response': response}
    return ((name, dict({'type': name, 'sequence_number': n}, **data))
            for n, (name, data) in enumerate(events()))


# --- OpenAI Chat Completions --------------------------------------------------------------

RUN_THIS = 'Run this:'


def chat(req):
    messages = req.get('messages') or []
    # aider's prompts carry example exchanges: only the turns this script answered count, the
    # tool calls and the commands in the server's own words.
    done = sum(1 for m in messages if m.get('role') == 'assistant'
               and (m.get('tool_calls') or str(m.get('content') or '').startswith(RUN_THIS)))
    # A client without tools (aider) still runs the script: its commands go in ```bash blocks.
    turn = pick_turn(done, bool(req.get('tools')) or len(messages) > 1)
    call = 'bash' in turn and shell_call(tool_names(req.get('tools')), turn['bash'])
    message = {'role': 'assistant', 'content': None}
    if call:
        message['tool_calls'] = [{'id': uid('call_'), 'type': 'function',
                                  'function': {'name': call[0], 'arguments': json.dumps(call[1])}}]
        finish = 'tool_calls'
    elif 'bash' in turn:
        message['content'], finish = RUN_THIS + '\n\n```bash\n%s\n```\n' % turn['bash'], 'stop'
    else:
        message['content'], finish = turn.get('text', 'OK'), 'stop'
    u = usage_of(turn)
    usage = {'prompt_tokens': u['input_tokens'], 'completion_tokens': u['output_tokens'],
             'total_tokens': u['input_tokens'] + u['output_tokens'],
             'prompt_tokens_details': {'cached_tokens': 0}}
    head = {'id': uid('chatcmpl-'), 'created': int(time.time()), 'model': req.get('model') or 'gpt-test'}
    if not req.get('stream'):
        return dict(head, object='chat.completion', usage=usage,
                    choices=[{'index': 0, 'message': message, 'finish_reason': finish}])

    def chunks():
        chunk = dict(head, object='chat.completion.chunk')
        yield None, dict(chunk, choices=[{'index': 0, 'delta': dict(message), 'finish_reason': None}])
        yield None, dict(chunk, choices=[{'index': 0, 'delta': {}, 'finish_reason': finish}])
        # As the real API does: usage only when the request asks for it.
        if (req.get('stream_options') or {}).get('include_usage'):
            yield None, dict(chunk, choices=[], usage=usage)
    return chunks()


# --- Gemini -------------------------------------------------------------------------------

def gemini(req, model, stream):
    contents = req.get('contents') or []
    done = sum(1 for c in contents if c.get('role') == 'model')
    names = tool_names(req.get('tools'))
    config = req.get('generationConfig') or {}
    if config.get('responseMimeType') == 'application/json':
        # Gemini CLI's own checks (who speaks next, which model routes) want JSON.
        turn = dict(SIDE, text=json.dumps({'reasoning': 'scripted', 'next_speaker': 'user',
                                           'model_choice': 'flash'}))
    else:
        turn = pick_turn(done, bool(names))
    call = 'bash' in turn and shell_call(names, turn['bash'])
    if call:
        part = {'functionCall': {'name': call[0], 'args': call[1]}}
    else:
        part = {'text': turn.get('text', 'OK')}
    u = usage_of(turn)
    body = {'candidates': [{'content': {'role': 'model', 'parts': [part]}, 'finishReason': 'STOP',
                            'index': 0}],
            'usageMetadata': {'promptTokenCount': u['input_tokens'],
                              'candidatesTokenCount': u['output_tokens'],
                              'totalTokenCount': u['input_tokens'] + u['output_tokens']},
            'modelVersion': model, 'responseId': uid('')}
    if not stream:
        return body
    return iter([(None, body)])


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
        self.send_header('request-id', uid('req_'))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
        self.wfile.flush()

    def stream(self, events):
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream; charset=utf-8')
        self.send_header('Cache-Control', 'no-cache')
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('request-id', uid('req_'))
        self.end_headers()
        for event, data in events:
            head = 'event: %s\n' % event if event else ''
            self.chunk(('%sdata: %s\n\n' % (head, json.dumps(data))).encode())
        self.chunk(b'')

    def answer(self, result):
        if isinstance(result, dict):
            self.reply(200, result)
        else:
            self.stream(result)

    def do_POST(self):
        req = self.record(self.rfile.read(int(self.headers.get('Content-Length') or 0)))
        path = self.path.split('?')[0]
        if path == '/v1/messages/count_tokens':
            return self.reply(200, {'input_tokens': 10})
        if not isinstance(req, dict):
            return self.reply(200, {})
        if path == '/v1/messages':
            return self.answer(anthropic(req))
        if path == '/v1/responses':
            return self.answer(responses(req))
        if path == '/v1/chat/completions':
            return self.answer(chat(req))
        if path.startswith('/v1beta/models/') and ':' in path:
            model, method = path[len('/v1beta/models/'):].rsplit(':', 1)
            if method == 'countTokens':
                return self.reply(200, {'totalTokens': 10})
            if method in ('streamGenerateContent', 'generateContent'):
                return self.answer(gemini(req, model, method == 'streamGenerateContent'))
        self.reply(200, {})

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
