'use strict';
// The action's post step (runs also when an earlier step failed): stop job mode, which writes
// the reports, the job summary and the violation annotations.

const fs = require('node:fs');
const inputs = require('./lib/inputs');
const priv = require('./lib/privilege');
const commands = require('./lib/commands');

/** Is a job daemon running? Asked when main did not get as far as a confirmed start. */
function running(state, env) {
  let r;
  try {
    r = priv.run(priv.asRoot(state.how, state.bin, ['job', 'status'], env, []), { capture: true, timeoutMs: 60000 });
  } catch (e) {
    console.log(`ringfence: could not ask whether job mode runs: ${e.message}`);
    return false;
  }
  if (r.status !== 0) return false;
  try {
    return JSON.parse(r.stdout).running === true;
  } catch {
    return false;
  }
}

function post(env = process.env) {
  const state = commands.readState(env);
  if (state.phase === '') {
    console.log('ringfence: main did not install ringfence (see its error above); nothing to stop');
    return 0;
  }
  if (!fs.existsSync(state.bin)) throw new Error(`the ringfence main installed (${state.bin}) is gone; the job's reports cannot be written`);
  if (state.phase !== 'started' && !running(state, env)) {
    console.log('ringfence: job mode did not start (see main\'s error above); nothing to stop');
    return 0;
  }
  // The token `job start` saved in main's state; the runner gives it to this step only.
  const token = env.STATE_ringfence_stop_token || '';
  if (!token) throw new Error('no stop token in the post step\'s state (STATE_ringfence_stop_token); the job fence keeps running until the machine ends');
  const args = inputs.stopArgs(state.out, token, env.GITHUB_STEP_SUMMARY || '');
  const r = priv.run(priv.asRoot(state.how, state.bin, args, env, []));
  if (r.status !== 0) {
    throw new Error(`ringfence job stop failed (${r.signal ? `signal ${r.signal}` : `exit ${r.status}`}); its reason is above`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exit(post());
  } catch (e) {
    commands.error(e.message);
    process.exit(1);
  }
}

module.exports = { post };
