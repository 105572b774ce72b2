// Ports a user cannot have, through real pseudo-terminals: one another program holds (serial tools lock
// the port, node-serialport with flock(2)) and one without permission. Each is one line saying what to
// do, the JSON kind, and exit code 2 (an environment problem, cli/commands/device-shared.ts).
import test from 'ava';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockHolder } from '../devices/serial.js';
import { withoutColor, type CliResult } from './support/cli.js';
import { cliPath, repoRoot } from './support/paths.js';
import { ptyProgram, stopChild, waitFor } from './support/pty.js';
import { vectorsDir } from './support/bundle-vectors.js';

const fakeBoard = join(repoRoot, 'dist', 'tests', 'support', 'fake-board-serve.js');
const trustedPub = join(vectorsDir, 'trusted.pub');
const bundle = join(vectorsDir, 'valid-v2.bundle');

/** The CLI, optionally behind a wrapper command (setpriv) and as another user. */
function run(args: string[], options: SpawnOptions = {}, wrapper: string[] = []): Promise<CliResult> {
  return new Promise((resolve) => {
    const argv = [...wrapper, process.execPath, cliPath, ...args];
    const child = spawn(argv[0], argv.slice(1), { env: withoutColor(), stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, timedOut: false }));
  });
}

function errorOf(r: CliResult): { kind: string; message: string } {
  return JSON.parse(r.stdout).error;
}

test('a port another program holds (locked with flock, as serial monitors do): exit 2, port_busy, naming the program; free again once it lets go', async (t) => {
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${trustedPub}`);
  t.teardown(() => board.stop());
  // --no-fork: flock locks the port, then becomes `sleep`, which holds it until stopped.
  const holder: ChildProcess = spawn('flock', ['--nonblock', '--no-fork', board.path, 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => stopChild(holder));
  await waitFor(() => /^sleep/.test(lockHolder(board.path) ?? '') || holder.exitCode !== null, 5000, 'flock to lock the port and run sleep');
  t.is(holder.exitCode, null, 'flock holds the port');

  for (const args of [['device', 'list'], ['flash', bundle]]) {
    const r = await run([...args, '--port', board.path, '--json']);
    t.is(r.code, 2, r.stderr);
    t.is(errorOf(r).kind, 'port_busy');
    t.is(r.stderr, `rules: ${board.path} is in use by another program (sleep, pid ${holder.pid}): close it and try again\n`);
  }
  await stopChild(holder);
  const free = await run(['device', 'list', '--port', board.path]);
  t.is(free.code, 0, free.stderr);
});

test('a port another rules holds while it waits for an answer: the second one says so and exits 2', async (t) => {
  const silent = await ptyProgram('cat > /dev/null');
  t.teardown(() => silent.stop());
  const first = spawn(process.execPath, [cliPath, 'device', 'list', '--port', silent.path, '--timeout', '20000'], { stdio: 'ignore' });
  t.teardown(() => stopChild(first));
  await waitFor(() => lockHolder(silent.path) !== null || first.exitCode !== null, 10_000, 'the first rules to open the port');
  t.is(first.exitCode, null);
  const second = await run(['flash', bundle, '--port', silent.path, '--json']);
  t.is(second.code, 2, second.stderr);
  t.is(errorOf(second).kind, 'port_busy');
  t.regex(second.stderr, new RegExp(`is in use by another program \\(node, pid ${first.pid}\\): close it and try again\\n$`));
});


/**
 * How to run the CLI as someone a port with mode 0000 shuts out. Root opens anything, so as root the CLI runs
 * as `nobody`, or, where nobody cannot read this checkout, as root without the capabilities that override
 * file modes (setpriv, util-linux).
 */
function withoutAccess(): { options: SpawnOptions; wrapper: string[]; how: string; someoneElse: number } {
  if (process.getuid?.() !== 0) return { options: {}, wrapper: [], how: 'as this user', someoneElse: -1 };
  const asNobody = { uid: 65534, gid: 65534 };
  if (spawnSync(process.execPath, [cliPath, '--version'], asNobody).status === 0) return { options: asNobody, wrapper: [], how: 'as nobody', someoneElse: 0 };
  return { options: {}, wrapper: ['setpriv', '--bounding-set=-dac_override,-dac_read_search'], how: 'as root without CAP_DAC_OVERRIDE', someoneElse: 65534 };
}

test('a port without permission: exit 2, port_permission, with what to do about it', async (t) => {
  // The link lives in a folder anyone may enter: only the port itself is shut.
  const dir = mkdtempSync(join(tmpdir(), 'rules-port-access-'));
  chmodSync(dir, 0o755);
  const board = await ptyProgram(`node ${fakeBoard} --target stm32 --trust ${trustedPub}`, dir);
  t.teardown(() => board.stop());
  const device = realpathSync(board.path);
  const access = withoutAccess();
  chmodSync(device, 0o000);
  t.log(`running ${access.how}`);
  for (const args of [['device', 'list'], ['flash', bundle]]) {
    const r = await run([...args, '--port', board.path, '--json'], access.options, access.wrapper);
    t.is(r.code, 2, r.stderr);
    t.is(errorOf(r).kind, 'port_permission');
    t.regex(r.stderr, new RegExp(`^rules: no permission to open ${board.path}: it is mode 0000, owned by \\S+: ` +
      'ask for access \\(on Linux usually the `dialout` group or a udev rule\\)\n$'));
  }
  if (process.getuid?.() === 0) {
    // Root can give the port to a group the CLI's user is not in, as udev does with dialout: the message names it.
    const group = readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === 'tty' || (Number(f[2]) > 0 && Number(f[2]) < 1000));
    t.truthy(group, 'a system group to give the port to');
    chownSync(device, access.someoneElse, Number(group![2]));
    chmodSync(device, 0o660);
    const r = await run(['device', 'list', '--port', board.path], access.options, access.wrapper);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr, `rules: no permission to open ${board.path}: it belongs to the group ${group![0]}: add yourself to it (\`sudo usermod -aG ${group![0]} $USER\`), then log in again\n`);
  } else {
    t.log('not root: the port cannot be given to a group this user is not in, so the group hint is not exercised here');
  }
  // The same port, the same user, once the mode lets everyone in: the board answers.
  chmodSync(device, 0o666);
  // ...unless the folder its link is in is closed to them.
  chmodSync(dir, 0o000);
  const closed = await run(['device', 'list', '--port', board.path, '--json'], access.options, access.wrapper);
  chmodSync(dir, 0o755);
  t.is(closed.code, 2, closed.stderr);
  t.is(errorOf(closed).kind, 'port_permission');
  t.is(closed.stderr, `rules: no permission to open ${board.path}: a folder on the way to it is closed to you\n`);
  const back = await run(['device', 'list', '--port', board.path], access.options, access.wrapper);
  t.is(back.code, 0, back.stderr);
});
