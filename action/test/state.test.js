'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const commands = require('../lib/commands');
const { main } = require('../main');
const { post } = require('../post');
const inputs = require('../lib/inputs');

function tempFile(t, name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-action-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, '');
  return file;
}

/** What the runner gives post: each name main saved, as STATE_<name>. */
function postEnvFrom(stateFile) {
  const env = {};
  for (const [k, v] of Object.entries(commands.parseFileCommand(fs.readFileSync(stateFile, 'utf8')))) env[`STATE_${k}`] = v;
  return env;
}

test('state written by main reads back in post, last value winning', (t) => {
  const file = tempFile(t, 'state');
  commands.saveState({ GITHUB_STATE: file }, { phase: 'installed', bin: '/opt/ringfence/bin/ringfence', out: '', how: 'sudo' });
  commands.saveState({ GITHUB_STATE: file }, { phase: 'started' });
  assert.deepEqual(commands.readState(postEnvFrom(file)), {
    phase: 'started',
    bin: '/opt/ringfence/bin/ringfence',
    out: '',
    how: 'sudo',
  });
});

test('a value cannot inject a second name', (t) => {
  const file = tempFile(t, 'output');
  const nasty = 'x\nphase=started\nEOF\nbin<<EOF';
  commands.appendFileCommand(file, 'out', nasty);
  assert.deepEqual(commands.parseFileCommand(fs.readFileSync(file, 'utf8')), { out: nasty });
  assert.throws(() => commands.appendFileCommand(file, 'a\nb', 'v'), /not a file command name/);
  assert.throws(() => commands.appendFileCommand(undefined, 'a', 'v'), /no file command path/);
  assert.throws(() => commands.saveState({ GITHUB_STATE: file }, { token: 'x' }), /unknown state key/);
});

test('workflow command data is escaped', () => {
  assert.equal(commands.escapeData('50%\r\nnext'), '50%25%0D%0Anext');
});

test('post without state: main failed before installing; exit 0', () => {
  assert.equal(post({}), 0);
});

test('post with a started phase but the binary gone fails loudly', () => {
  assert.throws(() => post({ STATE_ringfence_phase: 'started', STATE_ringfence_bin: '/nonexistent/ringfence', STATE_ringfence_how: 'root' }), /is gone/);
});

// A real program that fails as `ringfence job start` would: main must save what post needs
// before starting, report the failure, and post must then say so and exit 0.
test('a failed start: main saves state and fails, post finds no job and exits 0', async (t) => {
  const stateFile = tempFile(t, 'state');
  const env = {
    GITHUB_STATE: stateFile,
    GITHUB_WORKSPACE: os.tmpdir(),
    PATH: process.env.PATH,
    [inputs.inputVar('ringfence-path')]: '/usr/bin/false',
    [inputs.inputVar('egress-policy')]: 'block',
  };
  await assert.rejects(main(env), /job start failed|could not run sudo/);
  const state = commands.readState(postEnvFrom(stateFile));
  assert.equal(state.phase, 'installed');
  assert.equal(state.bin, '/usr/bin/false');
  assert.equal(state.how, process.getuid() === 0 ? 'root' : 'sudo');
  assert.equal(post({ ...postEnvFrom(stateFile), PATH: process.env.PATH }), 0);
});

test('main refuses bad inputs before installing or saving anything', async (t) => {
  const stateFile = tempFile(t, 'state');
  const env = { GITHUB_STATE: stateFile, [inputs.inputVar('allowed-endpoints')]: 'https://evil.example.com' };
  await assert.rejects(main(env), /input `allowed-endpoints`/);
  assert.equal(fs.readFileSync(stateFile, 'utf8'), '');
});

test('ringfence-path with a checksum that does not match is not run', async (t) => {
  const stateFile = tempFile(t, 'state');
  const env = {
    GITHUB_STATE: stateFile,
    [inputs.inputVar('ringfence-path')]: '/usr/bin/true',
    [inputs.inputVar('checksum')]: '0'.repeat(64),
  };
  await assert.rejects(main(env), /input `checksum`: \/usr\/bin\/true has SHA-256 [0-9a-f]{64}, not 0{64}; not run/);
  assert.equal(fs.readFileSync(stateFile, 'utf8'), '');
});
