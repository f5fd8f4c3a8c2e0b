'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const install = require('../lib/install');
const priv = require('../lib/privilege');

const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-action-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A real HTTP server on 127.0.0.1 laid out like a release: /v<version>/<asset>, a redirect
 * (as GitHub sends release downloads elsewhere), a body cut short, and anything else 404.
 */
async function releaseServer(t, files) {
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/redirect/')) {
      res.writeHead(302, { location: req.url.slice('/redirect'.length) });
      res.end();
    } else if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' });
      res.end();
    } else if (req.url === '/elsewhere') {
      res.writeHead(302, { location: 'http://example.com/x' });
      res.end();
    } else if (req.url === '/short') {
      // The connection drops mid-body, as a broken download does.
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only a few bytes', () => res.destroy());
    } else if (files[req.url]) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(files[req.url]);
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${server.address().port}`;
}

const ASSET = 'ringfence-x86_64-unknown-linux-gnu';
const BODY = crypto.randomBytes(300 * 1024);

test('a download with the listed SHA-256 is kept; the URL is <base>/v<version>/<asset>', async (t) => {
  const base = await releaseServer(t, { [`/v0.2.0/${ASSET}`]: BODY });
  const table = { versions: { '0.2.0': { [ASSET]: sha(BODY) }, '0.1.0': { [ASSET]: '1'.repeat(64) } } };
  const { version, digest } = install.pickRelease(table, ASSET, null, null);
  assert.equal(version, '0.2.0');
  const url = install.releaseUrl(base, {}, version, ASSET);
  assert.equal(url, `${base}/v0.2.0/${ASSET}`);
  const dest = path.join(tempDir(t), ASSET);
  await install.fetchVerified(url, dest, digest);
  assert.deepEqual(fs.readFileSync(dest), BODY);
  assert.equal(fs.statSync(dest).mode & 0o777, 0o600, 'not executable, readable by its owner only');
});

test('a download whose SHA-256 differs is deleted and refused', async (t) => {
  const tampered = Buffer.concat([BODY.subarray(0, -1), Buffer.from([BODY[BODY.length - 1] ^ 1])]);
  const base = await releaseServer(t, { [`/v0.2.0/${ASSET}`]: tampered });
  const dest = path.join(tempDir(t), ASSET);
  await assert.rejects(
    install.fetchVerified(`${base}/v0.2.0/${ASSET}`, dest, sha(BODY)),
    (e) => e.message.includes(`expected ${sha(BODY)}, got ${sha(tampered)}`) && e.message.includes('deleted without being run'),
  );
  assert.equal(fs.existsSync(dest), false);
});

test('redirects are followed, bounded, and may not leave https for plain http elsewhere', async (t) => {
  const base = await releaseServer(t, { [`/v0.2.0/${ASSET}`]: BODY });
  const dir = tempDir(t);
  await install.fetchVerified(`${base}/redirect/v0.2.0/${ASSET}`, path.join(dir, 'a'), sha(BODY));
  await assert.rejects(install.download(`${base}/loop`, path.join(dir, 'b')), /too many redirects/);
  await assert.rejects(install.download(`${base}/elsewhere`, path.join(dir, 'c')), /refusing to download from http:\/\/example.com/);
});

test('404, a short body, an oversized body and a non-https URL are errors, leaving no file', async (t) => {
  const base = await releaseServer(t, { '/big': BODY });
  const dir = tempDir(t);
  await assert.rejects(install.download(`${base}/v9.9.9/${ASSET}`, path.join(dir, 'a')), /HTTP 404/);
  await assert.rejects(install.download(`${base}/short`, path.join(dir, 'b')), /closed before the download completed|aborted/);
  await assert.rejects(install.download(`${base}/big`, path.join(dir, 'c'), { maxBytes: 1024 }), /larger than 1024 bytes/);
  await assert.rejects(install.download('http://example.com/ringfence', path.join(dir, 'd')), /only https/);
  await assert.rejects(install.download('ftp://127.0.0.1/ringfence', path.join(dir, 'e')), /only https/);
  for (const f of ['a', 'b', 'c', 'd', 'e']) assert.equal(fs.existsSync(path.join(dir, f)), false, f);
});

test('release choice: newest listed, pinned, the checksum input, and disagreement', () => {
  const table = { versions: { '0.9.0': { [ASSET]: 'a'.repeat(64) }, '0.10.0': { [ASSET]: 'b'.repeat(64) }, '0.10.0-rc.1': { [ASSET]: 'c'.repeat(64) } } };
  assert.deepEqual(install.pickRelease(table, ASSET, null, null), { version: '0.10.0', digest: 'b'.repeat(64) });
  assert.deepEqual(install.pickRelease(table, ASSET, '0.9.0', null), { version: '0.9.0', digest: 'a'.repeat(64) });
  assert.deepEqual(install.pickRelease(table, ASSET, '1.0.0', 'd'.repeat(64)), { version: '1.0.0', digest: 'd'.repeat(64) });
  assert.throws(() => install.pickRelease(table, ASSET, '0.9.0', 'd'.repeat(64)), /input `checksum` .* disagrees/);
  assert.throws(() => install.pickRelease(table, ASSET, '1.0.0', null), /lists no SHA-256 for ringfence-x86_64-unknown-linux-gnu version 1.0.0: set input `checksum`/);
  assert.throws(() => install.pickRelease(table, 'ringfence-aarch64-unknown-linux-gnu', null, null), /lists no SHA-256/);
  assert.throws(() => install.pickRelease({ versions: {} }, ASSET, null, null), /lists no ringfence release.*ringfence-path/);
});

test('the default download URL is the action\'s own repository\'s releases', () => {
  const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_ACTION_REPOSITORY: 'ringfence/ringfence', GITHUB_REPOSITORY: 'someone/app' };
  assert.equal(install.releaseUrl(null, env, '0.2.0', ASSET), `https://github.com/ringfence/ringfence/releases/download/v0.2.0/${ASSET}`);
  assert.throws(() => install.releaseUrl(null, {}, '0.2.0', ASSET), /set `release-url`/);
});

test('asset names follow the runner', () => {
  assert.equal(install.assetName('linux', 'x64'), 'ringfence-x86_64-unknown-linux-gnu');
  assert.equal(install.assetName('linux', 'arm64'), 'ringfence-aarch64-unknown-linux-gnu');
  assert.throws(() => install.assetName('darwin', 'arm64'), /Linux runners only/);
  assert.throws(() => install.assetName('linux', 'ia32'), /no ringfence release is built for ia32/);
});

test('the shipped checksums.json is well formed; a malformed table is refused', (t) => {
  const table = install.loadChecksums(path.join(__dirname, '..', 'checksums.json'));
  for (const assets of Object.values(table.versions)) {
    for (const asset of Object.keys(assets)) assert.match(asset, /^ringfence-(x86_64|aarch64)-unknown-linux-gnu$/);
  }
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ versions: { '0.1.0': { [ASSET]: 'xyz' } } }));
  assert.throws(() => install.loadChecksums(path.join(dir, 'bad.json')), /0.1.0 ringfence-x86_64-unknown-linux-gnu is not a SHA-256/);
  fs.writeFileSync(path.join(dir, 'bad2.json'), '{');
  assert.throws(() => install.loadChecksums(path.join(dir, 'bad2.json')), /not readable JSON/);
});

test('root-owned check: a system binary passes; a file under a world-writable directory does not', (t) => {
  install.checkRootOwned('/usr/bin/env');
  const dir = tempDir(t);
  const f = path.join(dir, 'ringfence');
  fs.writeFileSync(f, 'x');
  // os.tmpdir() is world-writable (and, when not root, the file is the job user's).
  assert.throws(() => install.checkRootOwned(f), /not root|writable by group or others/);
  fs.symlinkSync('/usr/bin/env', path.join(dir, 'link'));
  assert.throws(() => install.checkRootOwned(path.join(dir, 'link')), /symbolic link|not a regular file/);
});

test('install as root: a root-owned 0755 copy in root-owned directories', (t) => {
  if (process.getuid() !== 0) {
    if (process.env.RINGFENCE_REQUIRE_PRIVILEGED === '1') assert.fail('needs root (RINGFENCE_REQUIRE_PRIVILEGED=1)');
    t.skip('needs root: install(1) -o root');
    return;
  }
  // Under /run (root's, 0755), not the world-writable temp dir, so the ownership check can pass.
  const top = fs.mkdtempSync('/run/rf-action-test-');
  t.after(() => fs.rmSync(top, { recursive: true, force: true }));
  fs.chmodSync(top, 0o755);
  const src = path.join(tempDir(t), 'ringfence');
  fs.writeFileSync(src, BODY, { mode: 0o600 });
  const bin = priv.installAsRoot('root', src, path.join(top, 'opt', 'bin'), { PATH: process.env.PATH });
  install.checkRootOwned(bin);
  const st = fs.statSync(bin);
  assert.equal(st.mode & 0o7777, 0o755);
  assert.equal(install.sha256File(bin), sha(BODY));
});

test('main\'s download path: inputs version, checksum and release-url fetch and check the runner\'s asset', async (t) => {
  const { obtain } = require('../main');
  const inputs = require('../lib/inputs');
  const asset = install.assetName();
  const base = await releaseServer(t, { [`/v0.3.0/${asset}`]: BODY });
  const env = {
    RUNNER_TEMP: tempDir(t),
    [inputs.inputVar('version')]: 'v0.3.0',
    [inputs.inputVar('checksum')]: sha(BODY),
    [inputs.inputVar('release-url')]: `${base}/`,
  };
  const got = await obtain(inputs.readInputs(env), env);
  assert.equal(got.digest, sha(BODY));
  assert.equal(path.basename(got.file), asset);
  assert.ok(got.file.startsWith(env.RUNNER_TEMP), 'downloaded into the runner temp dir');
  assert.deepEqual(fs.readFileSync(got.file), BODY);
  const bad = { ...env, [inputs.inputVar('checksum')]: 'f'.repeat(64) };
  await assert.rejects(obtain(inputs.readInputs(bad), bad), /SHA-256 mismatch .* expected f{64}/);
});
