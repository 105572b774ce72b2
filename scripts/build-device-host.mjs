// Builds the C device host at `npm install`: fetches Monocypher 4.0.2 (the monocypher-sys 4.0.2 crate, pinned by
// SHA-256) with cargo, checks the extracted sources against their own pinned hashes, then runs make in devices/host/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const CRATE = 'monocypher-sys';
const CRATE_VERSION = '4.0.2';
const CRATE_FILE = `${CRATE}-${CRATE_VERSION}.crate`;
const CRATE_SHA256 = 'dc11b58afcc9e7b8dc05ae2a2050b5a7a368ba1155bc0f9b1ad81ccedf5f1c96';
/** The files we use from the crate (a .tar.gz), where they go, and their pinned SHA-256. */
const SOURCES = [
  { from: `${CRATE}-${CRATE_VERSION}/Monocypher/src/monocypher.c`, to: 'monocypher.c',
    sha256: '02174117935699d418443c75a558a287deb06ef8cf7c1adced61d9047d2f323d' },
  { from: `${CRATE}-${CRATE_VERSION}/Monocypher/src/monocypher.h`, to: 'monocypher.h',
    sha256: 'fcaf6ed771358bb4f40fba016f6518ae86ec02b1b877d2cc35ad92d3a26fd7b3' },
  { from: `${CRATE}-${CRATE_VERSION}/Monocypher/src/optional/monocypher-ed25519.c`, to: 'monocypher-ed25519.c',
    sha256: '97d581639dfa72be08a6d57deb7d79b736be001cb416819cab196d22559d242b' },
  { from: `${CRATE}-${CRATE_VERSION}/Monocypher/src/optional/monocypher-ed25519.h`, to: 'monocypher-ed25519.h',
    sha256: '3a3035181f991a158d0e1c7567258f0bae8ba0f1f23c5512b4a1db1b3c9730ce' },
  { from: `${CRATE}-${CRATE_VERSION}/Monocypher/LICENCE.md`, to: 'LICENCE.md', sha256: null },
];

const CACHE_DIR = join(PACKAGE_ROOT, '.cache', 'monocypher');
const CACHED_CRATE = join(CACHE_DIR, CRATE_FILE);
const HOST_DIR = join(PACKAGE_ROOT, 'devices', 'host');
const MONOCYPHER_DIR = join(HOST_DIR, 'third_party', 'monocypher');
const WASM3_DIR = join(PACKAGE_ROOT, 'engine', 'native', 'wasm3');

class BuildError extends Error {}

const say = (message) => console.log(`rules: ${message}`);
const shown = (path) => relative(PACKAGE_ROOT, path) || '.';
const sha256Of = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function onPath(command, extraDirs = []) {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/** cargo from PATH, else from CARGO_HOME or ~/.cargo/bin (where rustup puts it without touching PATH). */
function findCargo() {
  const dirs = [];
  if (process.env.CARGO_HOME) dirs.push(join(process.env.CARGO_HOME, 'bin'));
  dirs.push(join(homedir(), '.cargo', 'bin'));
  const cargo = onPath('cargo', dirs);
  if (!cargo) {
    throw new BuildError('building the device host needs `cargo`, which fetches Monocypher 4.0.2 (its C sources ship in the ' +
      `crate ${CRATE} ${CRATE_VERSION} on crates.io); none was found on PATH or in ~/.cargo/bin. Install Rust with ` +
      '`sudo apt-get install cargo` (Debian/Ubuntu), `brew install rust` (macOS) or https://rustup.rs, then run `npm install` again');
  }
  return cargo;
}

/** Fetches the crate into a private CARGO_HOME with a throwaway manifest, and returns its verified .crate file. */
function fetchVerifiedCrate() {
  if (existsSync(CACHED_CRATE)) {
    if (sha256Of(CACHED_CRATE) === CRATE_SHA256) return CACHED_CRATE;
    say(`the cached ${shown(CACHED_CRATE)} does not match its pinned SHA-256; fetching it again`);
    rmSync(CACHED_CRATE);
  }
  const cargo = findCargo();
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(CACHE_DIR, 'fetch-'));
  try {
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src', 'lib.rs'), '');
    writeFileSync(join(work, 'Cargo.toml'), [
      '[package]', 'name = "rules-fetch-monocypher"', 'version = "0.0.0"', 'edition = "2021"', 'publish = false', '',
      '[lib]', 'path = "src/lib.rs"', '', '[dependencies]', `${CRATE} = "=${CRATE_VERSION}"`, ''].join('\n'));
    say(`fetching Monocypher ${CRATE_VERSION} (crate ${CRATE}==${CRATE_VERSION}) with cargo`);
    // cargo runs rustc even to fetch; rustup puts both in one directory that need not be on PATH.
    const path = `${dirname(cargo)}${delimiter}${process.env.PATH ?? ''}`;
    const host = spawnSync(cargo, ['-vV'], { encoding: 'utf8', env: { ...process.env, PATH: path } });
    const triple = /^host: (\S+)/m.exec(host.stdout ?? '')?.[1];
    const args = ['fetch', '--manifest-path', join(work, 'Cargo.toml'), '--quiet'];
    if (triple) args.push('--target', triple); // only this platform's build dependencies
    const env = { ...process.env, PATH: path, CARGO_HOME: join(work, 'cargo-home'), CARGO_TARGET_DIR: join(work, 'target') };
    const fetch = spawnSync(cargo, args, { encoding: 'utf8', env, cwd: work });
    const registryCache = join(work, 'cargo-home', 'registry', 'cache');
    const found = existsSync(registryCache)
      ? readdirSync(registryCache).map((d) => join(registryCache, d, CRATE_FILE)).find((p) => existsSync(p))
      : undefined;
    if (!found) {
      const output = `${fetch.stdout ?? ''}${fetch.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new BuildError(`cargo could not fetch ${CRATE} ${CRATE_VERSION}, which holds Monocypher's C sources; check that ` +
        `cargo can reach crates.io.${output ? `\ncargo said:\n${output}` : ''}`);
    }
    const actual = sha256Of(found);
    if (actual !== CRATE_SHA256) {
      throw new BuildError(`the fetched ${CRATE_FILE} has SHA-256 ${actual} but ${CRATE_SHA256} is pinned; ` +
        'refusing to build the device host from unverified sources. Check which registry cargo uses.');
    }
    renameSync(found, CACHED_CRATE);
    return CACHED_CRATE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function sourcesAreIntact() {
  return SOURCES.every((s) => existsSync(join(MONOCYPHER_DIR, s.to)) &&
    (s.sha256 === null || sha256Of(join(MONOCYPHER_DIR, s.to)) === s.sha256));
}

/** Replaces third_party/monocypher/ with the pinned files from the verified crate, checking each one. */
function extractSources(crate) {
  mkdirSync(dirname(MONOCYPHER_DIR), { recursive: true });
  const staging = mkdtempSync(join(dirname(MONOCYPHER_DIR), '.monocypher-extract-'));
  try {
    const tar = spawnSync('tar', ['-xzmf', crate, '-C', staging, ...SOURCES.map((s) => s.from)], { encoding: 'utf8' });
    if (tar.status !== 0) throw new BuildError(`tar could not extract Monocypher from ${shown(crate)}: ${(tar.stderr ?? '').trim()}`);
    const out = join(staging, 'out');
    mkdirSync(out);
    for (const s of SOURCES) {
      const path = join(staging, s.from);
      if (s.sha256 !== null && sha256Of(path) !== s.sha256) {
        throw new BuildError(`${s.from} in the verified crate does not match its pinned SHA-256; refusing to build`);
      }
      renameSync(path, join(out, s.to));
    }
    rmSync(MONOCYPHER_DIR, { recursive: true, force: true });
    renameSync(out, MONOCYPHER_DIR);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function build() {
  if (!existsSync(join(WASM3_DIR, 'wasm3.h'))) {
    throw new BuildError(`wasm3's sources are missing from ${shown(WASM3_DIR)}; run \`node scripts/build-wasm3.mjs\` first`);
  }
  if (!onPath('make')) throw new BuildError('building the device host needs make; install it with `sudo apt-get install build-essential`');
  say('building the device host (devices/host: the virtual board and the C tests)');
  const jobs = String(Math.max(1, Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 2))));
  const make = spawnSync('make', ['-C', HOST_DIR, `-j${jobs}`, 'posix'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (make.status !== 0) {
    const output = `${make.stdout ?? ''}${make.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new BuildError(`make could not build the device host; its last output:\n${output}`);
  }
}

function main() {
  if (!sourcesAreIntact()) {
    extractSources(fetchVerifiedCrate());
    if (!sourcesAreIntact()) throw new BuildError(`${shown(MONOCYPHER_DIR)} does not match its pinned hashes after extraction`);
  }
  build();
  say(`built ${shown(join(HOST_DIR, 'build', 'posix', 'rules-board'))} (Monocypher ${CRATE_VERSION})`);
}

try {
  main();
} catch (e) {
  console.error(`rules: ${e instanceof BuildError ? e.message : `building the device host failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`}`);
  process.exit(1);
}
