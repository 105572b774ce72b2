// Tests of the device host's install step (scripts/build-device-host.mjs) on a scratch copy of the package, with
// no network and no cargo: the C crypto sources (Monocypher, Mbed TLS's SHA-256) are checked against their pinned
// hashes on every install, a changed file is replaced from the verified crate, and a bad cached crate is never used.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from './support/paths.js';

const CRATE = 'mbedtls-sys-auto-2.28.15.crate';
/** The crate `npm install` fetched and verified for this checkout. */
const GENUINE_CRATE = join(repoRoot, '.cache', 'crates', CRATE);
const THIRD_PARTY = join(repoRoot, 'devices', 'host', 'third_party');
const SHA256_C = join('devices', 'host', 'third_party', 'mbedtls', 'library', 'sha256.c');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A scratch package: the install script, the verified third-party sources and crate cache; no wasm3, so the build
 * step stops after the sources are checked. PATH holds only tar and gzip: no cargo can fetch anything. */
function scratchPackage(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'rules-install-host-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(repoRoot, 'scripts', 'build-device-host.mjs'), join(dir, 'scripts', 'build-device-host.mjs'));
  cpSync(THIRD_PARTY, join(dir, 'devices', 'host', 'third_party'), { recursive: true });
  mkdirSync(join(dir, '.cache', 'crates'), { recursive: true });
  copyFileSync(GENUINE_CRATE, join(dir, '.cache', 'crates', CRATE));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['tar', 'gzip']) {
    const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found) symlinkSync(found, join(bin, tool));
  }
  return { dir, env: { PATH: bin, HOME: dir, LANG: 'C' } };
}

function install(dir: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, 'scripts', 'build-device-host.mjs')], { cwd: dir, env },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }));
  });
}

test('a changed Mbed TLS source is replaced from the verified crate on the next install, before anything builds', async (t) => {
  const { dir, env } = scratchPackage();
  const genuine = readFileSync(join(repoRoot, SHA256_C));
  appendFileSync(join(dir, SHA256_C), '\n/* changed */\n');
  const r = await install(dir, env);
  // The build stops at the missing wasm3 sources, after the third-party sources were checked and restored.
  t.is(r.code, 1, r.output);
  t.regex(r.output, /wasm3's sources are missing/);
  t.notRegex(r.output, /fetching/, 'the verified cached crate was used, nothing fetched');
  t.is(sha256(readFileSync(join(dir, SHA256_C))), sha256(genuine));
});

test('a cached crate that does not match its pinned SHA-256 is never extracted', async (t) => {
  const { dir, env } = scratchPackage();
  const cached = join(dir, '.cache', 'crates', CRATE);
  writeFileSync(cached, Buffer.concat([readFileSync(cached).subarray(0, 4096), Buffer.from('evil')]));
  writeFileSync(join(dir, SHA256_C), '/* not Mbed TLS */\n');
  const r = await install(dir, env);
  t.is(r.code, 1, r.output);
  t.regex(r.output, /the cached \.cache\/crates\/mbedtls-sys-auto-2\.28\.15\.crate does not match its pinned SHA-256; fetching it again/);
  t.regex(r.output, /building the device host needs `cargo`, which fetches Mbed TLS 2\.28\.10/);
  t.false(existsSync(cached), 'the bad crate was dropped');
  t.is(readFileSync(join(dir, SHA256_C), 'utf8'), '/* not Mbed TLS */\n', 'nothing was extracted from it');
});
