'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const priv = require('../lib/privilege');

const STEP_ENV = {
  PATH: '/usr/bin:/bin',
  GITHUB_OUTPUT: '/home/runner/work/_temp/_runner_file_commands/set_output_1',
  GITHUB_ENV: '/home/runner/work/_temp/_runner_file_commands/set_env_1',
  GITHUB_STEP_SUMMARY: '/home/runner/work/_temp/_runner_file_commands/step_summary_1',
  GITHUB_SERVER_URL: 'https://github.com',
  ANTHROPIC_API_KEY: 'sk-ant-api03-real',
  OPENAI_API_KEY: 'sk-not-declared',
  ACTIONS_RUNTIME_TOKEN: 'runner-token',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token',
  NODE_OPTIONS: '--require /tmp/evil.js',
  LD_PRELOAD: '/tmp/evil.so',
};

test('sudo gets an explicit list: file commands, context and declared secrets only', () => {
  const cmd = priv.asRoot('sudo', '/opt/ringfence/bin/ringfence', ['job', 'start'], STEP_ENV, priv.passNames(['ANTHROPIC_API_KEY']));
  assert.equal(cmd.file, 'sudo');
  assert.deepEqual(cmd.argv, [
    '-n',
    '--preserve-env=GITHUB_OUTPUT,GITHUB_ENV,GITHUB_STEP_SUMMARY,GITHUB_SERVER_URL,ANTHROPIC_API_KEY',
    '/opt/ringfence/bin/ringfence', 'job', 'start',
  ]);
  assert.deepEqual(Object.keys(cmd.env).sort(), ['ANTHROPIC_API_KEY', 'GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_SERVER_URL', 'GITHUB_STEP_SUMMARY', 'PATH']);
});

test('as root the same environment is built, without sudo', () => {
  const cmd = priv.asRoot('root', '/opt/ringfence/bin/ringfence', ['job', 'stop'], STEP_ENV, priv.PASS_ENV);
  assert.equal(cmd.file, '/opt/ringfence/bin/ringfence');
  assert.deepEqual(cmd.argv, ['job', 'stop']);
  for (const leaked of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'NODE_OPTIONS', 'LD_PRELOAD']) {
    assert.equal(cmd.env[leaked], undefined, leaked);
  }
  assert.equal(cmd.env.GITHUB_STEP_SUMMARY, STEP_ENV.GITHUB_STEP_SUMMARY);
});

test('the environment really is what the child sees', () => {
  const cmd = priv.asRoot('root', '/usr/bin/env', [], STEP_ENV, priv.passNames(['ANTHROPIC_API_KEY']));
  const r = priv.run(cmd, { capture: true });
  assert.equal(r.status, 0);
  const seen = r.stdout.trim().split('\n').map((l) => l.split('=')[0]).sort();
  assert.deepEqual(seen, ['ANTHROPIC_API_KEY', 'GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_SERVER_URL', 'GITHUB_STEP_SUMMARY', 'PATH']);
});

test('who is root and whose sudo is taken', () => {
  assert.equal(priv.privilege(0), 'root');
  assert.equal(priv.privilege(1001), 'sudo');
  assert.equal(priv.jobUser('root'), null);
  assert.equal(typeof priv.jobUser('sudo'), 'string');
  assert.throws(() => priv.asRoot('doas', '/x', [], {}, []), /unknown privilege/);
});
