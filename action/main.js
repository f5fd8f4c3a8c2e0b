'use strict';
// The action's main step: check the inputs, put a root-owned ringfence in place, start job
// mode, and leave post what it needs to stop it.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const inputs = require('./lib/inputs');
const install = require('./lib/install');
const priv = require('./lib/privilege');
const commands = require('./lib/commands');

const CHECKSUMS = path.join(__dirname, 'checksums.json');

/**
 * The binary to hand to root, with the SHA-256 it must have (null for an unpinned local
 * build). A release download is checked before anything can run it.
 */
async function obtain(cfg, env) {
  if (cfg.ringfencePath) {
    if (!fs.existsSync(cfg.ringfencePath)) throw new inputs.InputError('ringfence-path', `${cfg.ringfencePath} does not exist`);
    if (cfg.checksum) {
      const got = install.sha256File(cfg.ringfencePath);
      if (got !== cfg.checksum) throw new inputs.InputError('checksum', `${cfg.ringfencePath} has SHA-256 ${got}, not ${cfg.checksum}; not run`);
    }
    return { file: cfg.ringfencePath, digest: cfg.checksum, source: cfg.ringfencePath };
  }
  const asset = install.assetName();
  const { version, digest } = install.pickRelease(install.loadChecksums(CHECKSUMS), asset, cfg.version, cfg.checksum);
  const url = install.releaseUrl(cfg.releaseUrl, env, version, asset);
  const dir = fs.mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'ringfence-'));
  const file = path.join(dir, asset);
  await install.fetchVerified(url, file, digest);
  return { file, digest, source: `${url} (SHA-256 ${digest})` };
}

/** Puts the binary where only root can change it; a local build already there is used in place. */
function place(got, how, env) {
  let bin;
  try {
    install.checkRootOwned(got.file);
    bin = path.resolve(got.file);
  } catch {
    bin = priv.installAsRoot(how, got.file, install.INSTALL_DIR, env);
  }
  install.checkRootOwned(bin);
  // Checked again on the root-owned copy: the file the job's user could touch was only ever
  // a source, and a swap between the first check and the copy ends here.
  if (got.digest && install.sha256File(bin) !== got.digest) {
    throw new Error(`${bin} does not have the SHA-256 that was checked (${got.digest}); refusing to run it`);
  }
  return bin;
}

async function main(env = process.env) {
  const cfg = inputs.readInputs(env);
  const how = priv.privilege();
  const got = await obtain(cfg, env);
  const bin = place(got, how, env);
  console.log(`ringfence: ${bin} from ${got.source}`);
  // Saved before starting, so post can look for a daemon a failed or cancelled start left.
  commands.saveState(env, { phase: 'installed', bin, out: cfg.out || '', how });
  const cmd = priv.asRoot(how, bin, inputs.startArgs(cfg, priv.jobUser(how)), env, priv.passNames(cfg.secrets.map((s) => s.name)));
  const r = priv.run(cmd);
  if (r.status !== 0) {
    throw new Error(`ringfence job start failed (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`}); its reason is above`);
  }
  commands.saveState(env, { phase: 'started' });
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      commands.error(e.message);
      process.exit(1);
    },
  );
}

module.exports = { main, obtain, place };
