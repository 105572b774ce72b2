// Flashing a typical rule to the virtual board over a pseudo-terminal: bytes on the wire and the time from
// command to "running", against the time those bytes take at 115 200 baud (8N1: 10 bits a byte).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../devices/serial.js';
import * as smp from '../devices/smp/commands.js';
import { decodeBundle } from '../contract/bundle.js';

const BAUD = 115_200;
const secondsAtBaud = (bytes: number) => (bytes * 10) / BAUD;

export async function flashBench(root: string, cli: string, runs = 5): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'rules-bench-flash-'));
  const key = join(dir, 'bench');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (run(['keygen', '--out', key]).status !== 0) return '## Flashing\n\nskipped: `rules keygen` failed\n';
  const link = join(dir, 'tty');
  const board = spawn(process.execPath, [cli, 'board', '--link', link, '--trust', `${key}.pub`, '--state', dir, '--sensor', '0=29000'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(link); i++) await new Promise((r) => setTimeout(r, 25));
    if (!existsSync(link)) return '## Flashing\n\nskipped: the virtual board did not start (is it built?)\n';
    const rows: { label: string; bundle: number; wireOut: number; wireIn: number; ms: number[] }[] = [];
    // The CLI end to end: a process that opens the port, reads info, uploads, and prints what runs.
    const cliRow = { label: '`rules flash` (.bundle, whole command)', bundle: 0, wireOut: 0, wireIn: 0, ms: [] as number[] };
    const bundles: string[] = [];
    for (let v = 1; v <= runs; v++) {
      const b = join(dir, `fan-${v}.bundle`);
      run(['bundle', join(root, 'rules', 'fan_control.rule'), '--target', 'stm32', '--key', `${key}.key`, '--rule-version', String(v), '--out', b]);
      bundles.push(b);
    }
    for (const b of bundles) {
      const started = performance.now();
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        const c = spawn(process.execPath, [cli, 'flash', b, '--port', link, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        c.stdout.on('data', (d) => { out += d; });
        c.on('exit', (code) => resolve({ code: code ?? -1, out }));
      });
      cliRow.ms.push(performance.now() - started);
      if (r.code !== 0) return `## Flashing\n\nfailed: rules flash exited ${r.code}\n`;
      const j = JSON.parse(r.out);
      cliRow.bundle = j.bundleBytes;
      cliRow.wireOut = j.wire.out;
      cliRow.wireIn = j.wire.in;
    }
    rows.push(cliRow);
    // The floor under any command: Node starting and exiting, spawned the same way.
    const nodeMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await new Promise((resolve) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', resolve));
      nodeMs.push(performance.now() - started);
    }
    // The library alone, port already open: the protocol's own cost.
    const libRow = { label: 'install() on an open port (upload, verify, store, start)', bundle: 0, wireOut: 0, wireIn: 0, ms: [] as number[] };
    const conn = await connect(link);
    try {
      const info = await smp.info(conn.client);
      conn.client.mtu = info.mtu;
      for (let v = runs + 1; v <= runs * 2; v++) {
        const b = join(dir, `fan-${v}.bundle`);
        run(['bundle', join(root, 'rules', 'fan_control.rule'), '--target', 'stm32', '--key', `${key}.key`, '--rule-version', String(v), '--out', b]);
        const bytes = new Uint8Array(readFileSync(b));
        const decoded = decodeBundle(bytes);
        if (!decoded.ok) throw new Error(decoded.message);
        const m = decoded.value.manifest;
        conn.bytes.out = 0;
        conn.bytes.in = 0;
        const started = performance.now();
        const result = await smp.install(conn.client, bytes, { rule: m.rule, version: m.version, sha256: m.sha256 });
        libRow.ms.push(performance.now() - started);
        if (result.state !== 'running') throw new Error(`state ${result.state}`);
        libRow.bundle = bytes.length;
        libRow.wireOut = conn.bytes.out;
        libRow.wireIn = conn.bytes.in;
      }
    } finally {
      await conn.close();
    }
    rows.push(libRow);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const lines = ['## Flashing fan_control to the virtual board', '',
      `Median of ${runs} runs. "At 115 200 baud": the wire bytes (both directions) at 10 bits a byte; a pseudo-terminal has no baud`,
      'rate, so the measured time is the software\'s own cost (process start, compile-free upload, Ed25519 verify, flash write).', '',
      '| what | bundle | wire out | wire in | at 115 200 baud | measured | measured / at-baud |', '|---|---|---|---|---|---|---|'];
    for (const r of rows) {
      const atBaud = secondsAtBaud(r.wireOut + r.wireIn) * 1000;
      const m = median(r.ms);
      lines.push(`| ${r.label} | ${r.bundle} B | ${r.wireOut} B | ${r.wireIn} B | ${atBaud.toFixed(0)} ms | ${m.toFixed(0)} ms | ${(m / atBaud).toFixed(2)}x |`);
    }
    const r0 = rows[1];
    lines.push('', `Framing overhead: ${r0.wireOut} B on the wire for a ${r0.bundle} B bundle (${(r0.wireOut / r0.bundle).toFixed(2)}x: base64, SMP headers, CBOR keys, CRC, newlines). The whole command's extra time is Node starting and loading the CLI; Node alone (\`node -e 0\`, spawned the same way) takes ${median(nodeMs).toFixed(0)} ms here.`, '');
    return lines.join('\n');
  } finally {
    board.kill('SIGTERM');
  }
}
