'use strict';
// The action's inputs: read the way the runner passes them (INPUT_<NAME> variables), checked,
// and turned into `ringfence job start` flags. Every error names the input it is about, since
// the person reading it is editing a workflow file, not ringfence's command line.

const path = require('node:path');

class InputError extends Error {
  constructor(input, message) {
    super(`input \`${input}\`: ${message}`);
    this.input = input;
  }
}

/** The runner's encoding of an input name: INPUT_ + upper case, spaces as underscores. */
function inputVar(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Every input action.yml declares (a test holds the two lists equal). */
const INPUT_NAMES = [
  'egress-policy',
  'allowed-endpoints',
  'disable-sudo',
  'disable-file-monitoring',
  'policy',
  'secrets',
  'out',
  'ringfence-path',
  'version',
  'checksum',
  'release-url',
  'upstream-ca',
  'cgroup',
];

function getInput(env, name) {
  if (!INPUT_NAMES.includes(name)) throw new Error(`${name} is not an input action.yml declares`);
  return (env[inputVar(name)] || '').trim();
}

// The YAML 1.2 core-schema spellings GitHub's own toolkit accepts for a boolean input.
const TRUE_WORDS = ['true', 'True', 'TRUE'];
const FALSE_WORDS = ['false', 'False', 'FALSE'];

function getBoolean(env, name) {
  const v = getInput(env, name);
  if (v === '' || FALSE_WORDS.includes(v)) return false;
  if (TRUE_WORDS.includes(v)) return true;
  throw new InputError(name, `\`${v}\` is not a boolean: write true or false`);
}

function parseMode(text) {
  if (text === '') return null; // ringfence decides: audit without a policy, the policy's with one
  const v = text.toLowerCase();
  if (v === 'audit' || v === 'block') return v;
  throw new InputError('egress-policy', `\`${text}\` is not a mode: write audit or block`);
}

/**
 * Checks the shape of one host name or pattern. The finer rules (a wildcard may not span a
 * public suffix such as `*.github.io`) live in ringfence's own policy code, which checks every
 * --allow and --secret again; they are not copied here.
 */
function checkHost(input, entry, host) {
  const fail = (why) => {
    throw new InputError(input, `\`${entry}\`: ${why}`);
  };
  if (host.includes('://')) fail('write a host name, not a URL (drop the scheme)');
  if (host.includes('/')) fail('write a host name, not a URL (drop the path)');
  if (host.startsWith('[') || host.includes(':')) fail('IP addresses are not accepted: ringfence allows names (a CIDR goes in a policy file)');
  if (/^[0-9.]+$/.test(host)) fail('IP addresses are not accepted: ringfence allows names (a CIDR goes in a policy file)');
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(host)) fail('write international names in their xn-- (punycode) form');
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) fail('a host name is 1 to 253 characters long');
  const labels = name.toLowerCase().split('.');
  labels.forEach((label, i) => {
    if (label === '*') return;
    if (label === '**') {
      if (i !== 0) fail('`**` may only start a pattern, as in `**.example.com`');
      return;
    }
    if (label.includes('*')) fail('`*` must be a whole label, as in `*.example.com`');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label)) {
      fail(`\`${label}\` is not a host name label (letters, digits and inner hyphens, at most 63)`);
    }
  });
  const lastWild = labels.reduce((at, label, i) => (label.includes('*') ? i : at), -1);
  if (lastWild !== -1 && labels.length - lastWild - 1 < 2) {
    fail('a wildcard needs a fixed domain of two labels or more after it, as in `*.example.com`');
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) fail('the last label of a host name is not all digits');
  return labels.join('.');
}

/**
 * Harden-Runner's `allowed-endpoints`: `host:port` entries separated by spaces, newlines or
 * commas; a missing port means 443, as in Harden-Runner and ringfence's --allow.
 */
function parseEndpoints(text, input = 'allowed-endpoints') {
  const out = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    let host = entry;
    let port = 443;
    const colon = entry.lastIndexOf(':');
    if (colon !== -1 && !entry.includes('/') && !entry.startsWith('[')) {
      const p = entry.slice(colon + 1);
      host = entry.slice(0, colon);
      if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
        throw new InputError(input, `\`${entry}\`: \`${p}\` is not a port (1 to 65535)`);
      }
      port = Number(p);
    }
    const name = checkHost(input, entry, host);
    const flag = `${name}:${port}`;
    if (!out.includes(flag)) out.push(flag);
  }
  return out;
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `secrets`: entries `NAME=host[,host...]`, one per line (or separated by spaces, since a folded
 * YAML block joins lines that way). `#` starts a comment line.
 */
function parseSecrets(text) {
  const out = [];
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq === -1) {
      throw new InputError('secrets', `\`${entry}\` has no \`=\`: write NAME=host[,host...], e.g. ANTHROPIC_API_KEY=api.anthropic.com`);
    }
    const name = entry.slice(0, eq);
    if (!SECRET_NAME.test(name)) {
      throw new InputError('secrets', `\`${name}\` is not an environment variable name (letters, digits, underscores; not starting with a digit)`);
    }
    if (out.some((s) => s.name === name)) throw new InputError('secrets', `\`${name}\` is listed twice`);
    const hosts = entry.slice(eq + 1).split(',').filter(Boolean);
    if (hosts.length === 0) throw new InputError('secrets', `\`${entry}\` names no host: the secret's value is sent only to the hosts listed`);
    for (const h of hosts) {
      if (/^[A-Za-z0-9.*-]+:[0-9]+$/.test(h)) {
        throw new InputError('secrets', `\`${entry}\`: a secret's hosts take no port (\`${h}\`)`);
      }
    }
    out.push({ name, hosts: hosts.map((h) => checkHost('secrets', entry, h)) });
  }
  return out;
}

function parseVersion(text) {
  if (text === '') return null;
  const v = text.startsWith('v') ? text.slice(1) : text;
  if (!/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(v)) {
    throw new InputError('version', `\`${text}\` is not a release version such as 0.2.0`);
  }
  return v;
}

function parseChecksum(text) {
  if (text === '') return null;
  const v = text.toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(v)) throw new InputError('checksum', 'write the SHA-256 of the binary as 64 hex digits');
  return v;
}

/** A path input, made absolute against the workspace (where the workflow's relative paths point). */
function workspacePath(env, input, text) {
  if (text === '') return null;
  if (text.includes('\n')) throw new InputError(input, 'one path, not several lines');
  return path.resolve(env.GITHUB_WORKSPACE || process.cwd(), text);
}

/** Reads and checks every input; throws InputError for the first bad one. */
function readInputs(env) {
  const cfg = {
    mode: parseMode(getInput(env, 'egress-policy')),
    allow: parseEndpoints(getInput(env, 'allowed-endpoints')),
    disableSudo: getBoolean(env, 'disable-sudo'),
    disableFileMonitoring: getBoolean(env, 'disable-file-monitoring'),
    policy: workspacePath(env, 'policy', getInput(env, 'policy')),
    secrets: parseSecrets(getInput(env, 'secrets')),
    out: workspacePath(env, 'out', getInput(env, 'out')),
    ringfencePath: workspacePath(env, 'ringfence-path', getInput(env, 'ringfence-path')),
    version: parseVersion(getInput(env, 'version')),
    checksum: parseChecksum(getInput(env, 'checksum')),
    releaseUrl: getInput(env, 'release-url') || null,
    upstreamCa: getInput(env, 'upstream-ca') || null,
    cgroup: getInput(env, 'cgroup') || null,
  };
  for (const s of cfg.secrets) {
    // The value reaches ringfence only through this step's `env:`; without it ringfence would
    // hand out no sentinel and the later step would get an empty output.
    if (!env[s.name]) {
      throw new InputError('secrets', `\`${s.name}\` is not set in this step's environment: add \`env: { ${s.name}: \${{ secrets.${s.name} }} }\` to the ringfence step`);
    }
  }
  return cfg;
}

/**
 * The `ringfence job start` arguments for a checked configuration. `user` is the job's user
 * (whose sudo --disable-sudo takes away), null when the action itself runs as root.
 */
function startArgs(cfg, user) {
  const args = ['job', 'start'];
  if (cfg.policy) args.push('--policy', cfg.policy);
  if (cfg.mode) args.push('--mode', cfg.mode);
  for (const a of cfg.allow) args.push('--allow', a);
  for (const s of cfg.secrets) args.push('--secret', `${s.name}=${s.hosts.join(',')}`);
  if (cfg.disableSudo) args.push('--disable-sudo');
  if (cfg.disableFileMonitoring) args.push('--disable-file-monitoring');
  // `out` is where `job stop` copies the reports (for an artifact); the journal itself is written
  // by root into its own directory under RUNNER_TEMP while the job runs.
  if (cfg.upstreamCa) args.push('--upstream-ca', cfg.upstreamCa);
  if (cfg.cgroup) args.push('--cgroup', cfg.cgroup);
  if (user) args.push('--user', user);
  return args;
}

// The stop token and the summary file go as arguments: with disable-sudo, the only sudo left
// is `ringfence job stop --token *`, without SETENV, so no variable would reach ringfence.
function stopArgs(out, token = '', summary = '') {
  const args = ['job', 'stop', '--token', token];
  if (summary) args.push('--summary', summary);
  if (out) args.push('--out', out);
  return args;
}

module.exports = {
  INPUT_NAMES,
  InputError,
  inputVar,
  readInputs,
  parseEndpoints,
  parseSecrets,
  parseMode,
  parseVersion,
  parseChecksum,
  startArgs,
  stopArgs,
};
