'use strict';
// The runner's file commands (GITHUB_STATE, GITHUB_OUTPUT, GITHUB_ENV) and workflow commands
// (::error::), written the way the runner reads them.

const fs = require('node:fs');
const crypto = require('node:crypto');

/**
 * Appends `name<<DELIM\nvalue\nDELIM\n` to a file command. The delimiter is random, so no value
 * can end the block early and smuggle in a second name.
 */
function appendFileCommand(file, name, value) {
  if (!file) throw new Error(`cannot save \`${name}\`: the runner gave this step no file command path`);
  if (/[\r\n]|<</.test(name)) throw new Error(`\`${name}\` is not a file command name`);
  const text = String(value);
  let delim;
  do {
    delim = `ringfence_${crypto.randomBytes(16).toString('hex')}`;
  } while (text.includes(delim));
  fs.appendFileSync(file, `${name}<<${delim}\n${text}\n${delim}\n`, { encoding: 'utf8' });
}

// What main hands to post. The runner gives post each saved name back as STATE_<name>.
const STATE_KEYS = ['phase', 'bin', 'out', 'how'];

function saveState(env, values) {
  for (const [k, v] of Object.entries(values)) {
    if (!STATE_KEYS.includes(k)) throw new Error(`unknown state key ${k}`);
    appendFileCommand(env.GITHUB_STATE, `ringfence_${k}`, v);
  }
}

/** The state main saved, as post sees it; missing keys are empty strings. */
function readState(env) {
  const state = {};
  for (const k of STATE_KEYS) state[k] = env[`STATE_ringfence_${k}`] || '';
  return state;
}

/**
 * A file-command file parsed back (`name=value` lines and `name<<DELIM` blocks), as the runner
 * parses it; used by the tests, and by post to explain a missing state.
 */
function parseFileCommand(text) {
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const heredoc = line.indexOf('<<');
    const eq = line.indexOf('=');
    if (heredoc !== -1 && (eq === -1 || heredoc < eq)) {
      const name = line.slice(0, heredoc);
      const delim = line.slice(heredoc + 2);
      const value = [];
      i++;
      while (i < lines.length && lines[i] !== delim) value.push(lines[i++]);
      if (i >= lines.length) throw new Error(`unterminated value for ${name}`);
      out[name] = value.join('\n');
    } else if (eq !== -1) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      throw new Error(`not a file command line: ${line}`);
    }
  }
  return out;
}

/** Escapes the data part of a workflow command, as the runner unescapes it. */
function escapeData(text) {
  return String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function error(message) {
  process.stdout.write(`::error title=ringfence::${escapeData(message)}\n`);
}

function notice(message) {
  process.stdout.write(`::notice title=ringfence::${escapeData(message)}\n`);
}

module.exports = { appendFileCommand, saveState, readState, parseFileCommand, escapeData, error, notice, STATE_KEYS };
