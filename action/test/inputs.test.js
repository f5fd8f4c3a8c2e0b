'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const inputs = require('../lib/inputs');

/** The environment the runner gives a step for these `with:` values (plus extra variables). */
function envFor(withValues, extra = {}) {
  const env = { GITHUB_WORKSPACE: '/home/runner/work/repo/repo', ...extra };
  for (const [k, v] of Object.entries(withValues)) env[inputs.inputVar(k)] = v;
  return env;
}

/** Each case (entry → words of the reason) is refused with an error naming the input and the entry. */
function assertRefused(input, cases, parse) {
  for (const [entry, why] of Object.entries(cases)) {
    assert.throws(
      () => parse(entry),
      (e) => e instanceof inputs.InputError && e.message.startsWith(`input \`${input}\`:`) && e.message.includes(why),
      `${entry} should be refused with "${why}"`,
    );
  }
}

test('the issue snippet becomes the job start flags', () => {
  const env = envFor(
    {
      'egress-policy': 'block',
      'allowed-endpoints': 'api.anthropic.com:443 github.com:443 api.github.com:443\n',
      'disable-sudo': 'true',
      secrets: 'ANTHROPIC_API_KEY=api.anthropic.com',
    },
    { ANTHROPIC_API_KEY: 'sk-ant-api03-real' },
  );
  const cfg = inputs.readInputs(env);
  assert.deepEqual(inputs.startArgs(cfg, 'runner'), [
    'job', 'start', '--mode', 'block',
    '--allow', 'api.anthropic.com:443', '--allow', 'github.com:443', '--allow', 'api.github.com:443',
    '--secret', 'ANTHROPIC_API_KEY=api.anthropic.com',
    '--disable-sudo', '--user', 'runner',
  ]);
});

test('defaults pass no mode, so ringfence picks audit or the policy file\'s', () => {
  const cfg = inputs.readInputs(envFor({ policy: 'ringfence.yml', 'disable-file-monitoring': 'True', out: 'rf' }));
  assert.deepEqual(inputs.startArgs(cfg, null), [
    'job', 'start', '--policy', '/home/runner/work/repo/repo/ringfence.yml', '--disable-file-monitoring',
  ]);
  assert.deepEqual(inputs.stopArgs(cfg.out, 'tok', '/s'), ['job', 'stop', '--token', 'tok', '--summary', '/s', '--out', '/home/runner/work/repo/repo/rf']);
  assert.deepEqual(inputs.stopArgs('', 'tok'), ['job', 'stop', '--token', 'tok']);
});

test('endpoints: Harden-Runner spellings, wildcards, default port, duplicates', () => {
  assert.deepEqual(
    inputs.parseEndpoints('  API.GitHub.com:443\n*.npmjs.org:443, github.com  objects.githubusercontent.com.:443 github.com:443 ghcr.io:8443 **.docker.io:443'),
    ['api.github.com:443', '*.npmjs.org:443', 'github.com:443', 'objects.githubusercontent.com:443', 'ghcr.io:8443', '**.docker.io:443'],
  );
  assert.deepEqual(inputs.parseEndpoints(''), []);
});

test('endpoints: refusals name the input and the entry', () => {
  const cases = {
    'https://api.github.com': 'not a URL',
    'api.github.com/path:443': 'not a URL',
    '1.2.3.4:443': 'IP addresses',
    '[::1]:443': 'IP addresses',
    '::1': 'IP addresses',
    'x.com:0': 'not a port',
    'x.com:65536': 'not a port',
    'x.com:https': 'not a port',
    '*:443': 'fixed domain',
    '*.com:443': 'fixed domain',
    '*.*.com:443': 'fixed domain',
    'a.**.example.com:443': 'may only start',
    'api-*.example.com:443': 'whole label',
    'bücher.de:443': 'punycode',
    'a..b:443': 'not a host name label',
    '-a.com:443': 'not a host name label',
    'a_b.com:443': 'not a host name label',
    'x.123:443': 'all digits',
  };
  assertRefused('allowed-endpoints', cases, (entry) => inputs.readInputs(envFor({ 'allowed-endpoints': `ok.example.com:443 ${entry}` })));
  assert.throws(() => inputs.parseEndpoints('ok.example.com 1.2.3.4:443'), /input `allowed-endpoints`: `1\.2\.3\.4:443`: IP addresses/);
});

test('egress-policy and booleans accept only their words', () => {
  assert.equal(inputs.parseMode('Block'), 'block');
  assert.throws(() => inputs.readInputs(envFor({ 'egress-policy': 'strict' })), /input `egress-policy`: `strict` is not a mode: write audit or block/);
  assert.throws(() => inputs.readInputs(envFor({ 'disable-sudo': 'yes' })), /input `disable-sudo`: `yes` is not a boolean/);
  assert.equal(inputs.readInputs(envFor({ 'disable-sudo': 'FALSE' })).disableSudo, false);
});

test('secrets: lines, folded lines, comments and several hosts', () => {
  const text = '# the agent\nANTHROPIC_API_KEY=api.anthropic.com\n GITHUB_TOKEN=api.github.com,github.com OPENAI_API_KEY=api.openai.com\n';
  assert.deepEqual(inputs.parseSecrets(text), [
    { name: 'ANTHROPIC_API_KEY', hosts: ['api.anthropic.com'] },
    { name: 'GITHUB_TOKEN', hosts: ['api.github.com', 'github.com'] },
    { name: 'OPENAI_API_KEY', hosts: ['api.openai.com'] },
  ]);
});

test('secrets: refusals name the input', () => {
  const cases = {
    ANTHROPIC_API_KEY: 'has no `=`',
    'ANTHROPIC_API_KEY=': 'names no host',
    '1KEY=api.x.com': 'not an environment variable name',
    'MY-KEY=api.x.com': 'not an environment variable name',
    'K=api.x.com K=api.y.com': 'listed twice',
    'K=api.x.com:443': 'take no port',
    'K=https://api.x.com': 'not a URL',
    'K=1.2.3.4': 'IP addresses',
  };
  assertRefused('secrets', cases, (text) => inputs.parseSecrets(text));
});

test('a listed secret must be in the step environment', () => {
  assert.throws(
    () => inputs.readInputs(envFor({ secrets: 'ANTHROPIC_API_KEY=api.anthropic.com' })),
    /input `secrets`: `ANTHROPIC_API_KEY` is not set in this step's environment: add `env: \{ ANTHROPIC_API_KEY: \$\{\{ secrets.ANTHROPIC_API_KEY \}\} \}`/,
  );
  assert.throws(
    () => inputs.readInputs(envFor({ secrets: 'ANTHROPIC_API_KEY=api.anthropic.com' }, { ANTHROPIC_API_KEY: '' })),
    /is not set in this step's environment/,
  );
});

test('version and checksum', () => {
  assert.equal(inputs.parseVersion('v0.2.0'), '0.2.0');
  assert.equal(inputs.parseVersion('1.0.0-rc.1'), '1.0.0-rc.1');
  assert.equal(inputs.parseVersion(''), null);
  assert.throws(() => inputs.readInputs(envFor({ version: 'latest' })), /input `version`: `latest` is not a release version/);
  const d = 'AB'.repeat(32);
  assert.equal(inputs.parseChecksum(`sha256:${d}`), d.toLowerCase());
  assert.throws(() => inputs.readInputs(envFor({ checksum: 'abc' })), /input `checksum`: write the SHA-256/);
});

test('action.yml declares exactly the inputs the action reads, and the sentinel outputs', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'action.yml'), 'utf8');
  const block = (name) => {
    const m = text.match(new RegExp(`^${name}:\\n((?:  .*\\n|\\n)*)`, 'm'));
    assert.ok(m, `action.yml has ${name}:`);
    return [...m[1].matchAll(/^ {2}([A-Za-z0-9_-]+):/gm)].map((x) => x[1]);
  };
  assert.deepEqual(block('inputs').sort(), [...inputs.INPUT_NAMES].sort());
  for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'CODEX_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GITHUB_TOKEN']) {
    assert.ok(block('outputs').includes(name), `output ${name} declared`);
  }
  assert.match(text, /^ {2}using: node24\n {2}main: action\/main.js\n {2}post: action\/post.js\n {2}post-if: always\(\)$/m);
});
