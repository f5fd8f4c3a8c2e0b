'use strict';
// Running ringfence as root: directly when the action already is root, otherwise through
// `sudo -n` (a GitHub-hosted runner's user has passwordless sudo). Either way ringfence gets
// an environment built from a fixed list of names, not the step's whole environment.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/**
 * What ringfence needs from the step: the file-command paths it writes (sentinel outputs, the
 * CA variables, the summary), the GitHub context its runner preset and reports use, and the
 * runner's temp dir. Everything else stays behind, which is why this is a list and not
 * `sudo -E`: the daemon is root and outlives the step, and the step's environment holds the
 * runner's own tokens (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN), every secret the
 * workflow put in `env:` whether or not it is declared, and variables an earlier step could
 * set through GITHUB_ENV to steer a program (NODE_OPTIONS, http_proxy, RUST_LOG, …).
 */
const PASS_ENV = [
  'CI',
  'GITHUB_ACTIONS',
  'GITHUB_OUTPUT',
  'GITHUB_ENV',
  'GITHUB_STATE',
  'GITHUB_PATH',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_WORKSPACE',
  'GITHUB_REPOSITORY',
  'GITHUB_SERVER_URL',
  'GITHUB_API_URL',
  'GITHUB_GRAPHQL_URL',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT',
  'GITHUB_JOB',
  'GITHUB_WORKFLOW',
  'GITHUB_SHA',
  'GITHUB_REF',
  'RUNNER_TEMP',
  'RUNNER_OS',
  'RUNNER_ARCH',
];

/** The names passed to ringfence: the fixed list plus each declared secret (its value source). */
function passNames(secretNames = []) {
  return [...PASS_ENV, ...secretNames.filter((n) => !PASS_ENV.includes(n))];
}

/** How this process reaches root: 'root' (it is root) or 'sudo'. */
function privilege(uid = process.getuid()) {
  return uid === 0 ? 'root' : 'sudo';
}

/**
 * The command line and environment that run `bin args…` as root. `env` is the step's
 * environment; only `names` from it (and PATH, to find sudo) reach the child.
 */
function asRoot(how, bin, args, env, names) {
  const childEnv = {};
  for (const n of names) if (env[n] !== undefined) childEnv[n] = env[n];
  childEnv.PATH = env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  if (how === 'root') return { file: bin, argv: args, env: childEnv };
  if (how !== 'sudo') throw new Error(`unknown privilege ${how}`);
  // -n: never prompt (a job has no terminal); fail at once instead.
  const keep = names.filter((n) => env[n] !== undefined);
  const argv = ['-n'];
  if (keep.length) argv.push(`--preserve-env=${keep.join(',')}`);
  argv.push(bin, ...args);
  return { file: 'sudo', argv, env: childEnv };
}

/** Runs a command from asRoot with the step's stdout/stderr (workflow commands go straight through). */
function run(cmd, { capture = false, timeoutMs = 300000 } = {}) {
  const r = spawnSync(cmd.file, cmd.argv, {
    env: cmd.env,
    stdio: capture ? ['ignore', 'pipe', 'inherit'] : ['ignore', 'inherit', 'inherit'],
    timeout: timeoutMs,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`could not run ${cmd.file}: ${r.error.message}`);
  return { status: r.status, signal: r.signal, stdout: r.stdout || '' };
}

/** The job's user name, passed as --user so ringfence knows whose sudo to take away. */
function jobUser(how) {
  return how === 'root' ? null : os.userInfo().username;
}

/**
 * Copies `src` to `dir/ringfence` owned by root, mode 0755, in root-owned directories. The copy
 * is made by root with install(1), so the job's user never holds a writable handle on it.
 */
function installAsRoot(how, src, dir, env) {
  const dest = `${dir}/ringfence`;
  // Both levels named, so neither is left with whatever umask sudo or root happens to have.
  const steps = [
    ['install', ['-d', '-o', 'root', '-g', 'root', '-m', '0755', path.dirname(dir), dir]],
    ['install', ['-o', 'root', '-g', 'root', '-m', '0755', src, dest]],
  ];
  for (const [bin, args] of steps) {
    const cmd = asRoot(how, bin, args, env, []);
    const r = spawnSync(cmd.file, cmd.argv, { env: cmd.env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: 60000 });
    if (r.error) throw new Error(`could not run ${cmd.file}: ${r.error.message}`);
    if (r.status !== 0) {
      const why = (r.stderr || '').trim();
      const hint = how === 'sudo' ? ' (the action needs passwordless sudo, or to run as root)' : '';
      throw new Error(`installing ringfence into ${dir} failed${hint}: ${why || `exit ${r.status}`}`);
    }
  }
  fs.accessSync(dest, fs.constants.X_OK);
  return dest;
}

module.exports = { PASS_ENV, passNames, privilege, asRoot, run, jobUser, installAsRoot };
