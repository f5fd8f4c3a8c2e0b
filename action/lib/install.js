'use strict';
// Getting the ringfence binary the root daemon will run: a release download checked against a
// SHA-256 this action ships (before anything executes it), or a local build; either way copied
// to a root-owned place the job's user cannot replace it in.

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');

/** Where the binary the daemon runs is kept: every directory up to / is root's. */
const INSTALL_DIR = '/opt/ringfence/bin';

// Release assets are named ringfence-<Rust target triple>; the action picks the runner's.
const TARGETS = { x64: 'x86_64-unknown-linux-gnu', arm64: 'aarch64-unknown-linux-gnu' };

function assetName(platform = process.platform, arch = process.arch) {
  if (platform !== 'linux') throw new Error(`ringfence's job mode runs on Linux runners only (this runner is ${platform})`);
  const target = TARGETS[arch];
  if (!target) throw new Error(`no ringfence release is built for ${arch} runners; set ringfence-path to a build of your own`);
  return `ringfence-${target}`;
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    // A pre-release (more parts after the patch number) sorts before the release itself.
    if (pa[i] === undefined) return i >= 3 ? 1 : -1;
    if (pb[i] === undefined) return i >= 3 ? -1 : 1;
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

/** Loads and checks action/checksums.json: { versions: { "<version>": { "<asset>": "<sha256>" } } }. */
function loadChecksums(file) {
  let table;
  try {
    table = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not readable JSON: ${e.message}`);
  }
  if (!table || typeof table.versions !== 'object' || Array.isArray(table.versions)) {
    throw new Error(`${file} has no \`versions\` object`);
  }
  for (const [version, assets] of Object.entries(table.versions)) {
    for (const [asset, digest] of Object.entries(assets)) {
      if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`${file}: ${version} ${asset} is not a SHA-256 (64 lower-case hex digits)`);
    }
  }
  return table;
}

/**
 * Which version to fetch and the SHA-256 it must have. The `checksum` input names the digest of
 * a version this copy of the action does not list; where both exist they must agree.
 */
function pickRelease(table, asset, version, checksum) {
  const versions = Object.keys(table.versions).sort(compareVersions);
  const v = version || versions[versions.length - 1];
  if (!v) {
    throw new Error('this copy of the action lists no ringfence release in action/checksums.json: set `version` and `checksum`, or `ringfence-path` to a build of your own');
  }
  const shipped = (table.versions[v] || {})[asset];
  if (shipped && checksum && shipped !== checksum) {
    throw new Error(`input \`checksum\` (${checksum}) disagrees with the SHA-256 this action lists for ${asset} ${v} (${shipped})`);
  }
  const digest = shipped || checksum;
  if (!digest) {
    throw new Error(`this action lists no SHA-256 for ${asset} version ${v}: set input \`checksum\` to it, or use a release of the action that lists it`);
  }
  return { version: v, digest };
}

/** `<base>/v<version>/<asset>`; the default base is the action's own repository's releases. */
function releaseUrl(base, env, version, asset) {
  let root = base;
  if (!root) {
    const repo = env.GITHUB_ACTION_REPOSITORY || env.GITHUB_REPOSITORY;
    if (!repo) throw new Error('cannot tell which repository to download ringfence from: set `release-url`');
    root = `${env.GITHUB_SERVER_URL || 'https://github.com'}/${repo}/releases/download`;
  }
  return `${root.replace(/\/+$/, '')}/v${version}/${asset}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The checksum is the guard; plain http is still refused except to this machine (a local mirror). */
function checkUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`\`${text}\` is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw new Error(`refusing to download from ${url.origin}: only https (or http to this machine) is used`);
}

/**
 * Downloads `url` into `dest` (created new, mode 0600), following at most `maxRedirects`
 * redirects, and returns the SHA-256 of what was written. Never executes anything.
 */
function download(urlText, dest, { maxRedirects = 5, maxBytes = 256 * 1024 * 1024, timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const fetchOnce = (text, left) => {
      let url;
      try {
        url = checkUrl(text);
      } catch (e) {
        reject(e);
        return;
      }
      const client = url.protocol === 'https:' ? https : http;
      const req = client.get(url, { headers: { 'user-agent': 'ringfence-action' }, timeout: timeoutMs }, (res) => {
        if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location) {
          res.resume();
          if (left === 0) {
            reject(new Error(`too many redirects fetching ${urlText}`));
            return;
          }
          fetchOnce(new URL(res.headers.location, url).toString(), left - 1);
          return;
        }
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`download of ${urlText} failed: HTTP ${res.statusCode}`));
          return;
        }
        save(res, dest, maxBytes).then(resolve, reject);
      });
      req.on('timeout', () => req.destroy(new Error(`download of ${urlText} timed out`)));
      req.on('error', (e) => reject(new Error(`download of ${urlText} failed: ${e.message}`)));
    };
    fetchOnce(urlText, maxRedirects);
  });
}

function save(res, dest, maxBytes) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let fd;
    try {
      fd = fs.openSync(dest, 'wx', 0o600);
    } catch (e) {
      res.resume();
      reject(e);
      return;
    }
    let size = 0;
    let settled = false;
    const finish = (e) => {
      if (settled) return;
      settled = true;
      fs.closeSync(fd);
      if (e) {
        res.destroy();
        fs.rmSync(dest, { force: true });
        reject(e);
      } else {
        resolve(hash.digest('hex'));
      }
    };
    res.on('data', (chunk) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) {
        finish(new Error(`download is larger than ${maxBytes} bytes; refused`));
        return;
      }
      hash.update(chunk);
      fs.writeSync(fd, chunk);
    });
    res.on('error', (e) => finish(e));
    res.on('end', () => finish(res.complete ? null : new Error('the connection closed before the download completed')));
    res.on('close', () => finish(new Error('the connection closed before the download completed')));
  });
}

/** Downloads and checks the digest; on a mismatch the file is deleted and never run. */
async function fetchVerified(url, dest, digest, opts) {
  const got = await download(url, dest, opts);
  if (got !== digest) {
    fs.rmSync(dest, { force: true });
    throw new Error(`SHA-256 mismatch for ${url}: expected ${digest}, got ${got}; the file was deleted without being run`);
  }
  return dest;
}

/**
 * Throws unless `file` and every directory above it are owned by root and writable by no one
 * else: otherwise the job's user could swap the binary a root daemon runs.
 */
function checkRootOwned(file) {
  let p = path.resolve(file);
  const st = fs.lstatSync(p);
  if (!st.isFile()) throw new Error(`${p} is not a regular file`);
  for (;;) {
    const s = fs.lstatSync(p);
    if (s.isSymbolicLink()) throw new Error(`${p} is a symbolic link; the binary's path must not pass through one`);
    if (s.uid !== 0) throw new Error(`${p} is owned by uid ${s.uid}, not root: the job's user could replace the binary`);
    if (s.mode & 0o022) throw new Error(`${p} is writable by group or others (mode ${(s.mode & 0o7777).toString(8)})`);
    const parent = path.dirname(p);
    if (parent === p) return;
    p = parent;
  }
}

module.exports = {
  INSTALL_DIR,
  assetName,
  sha256File,
  compareVersions,
  loadChecksums,
  pickRelease,
  releaseUrl,
  checkUrl,
  download,
  fetchVerified,
  checkRootOwned,
};
