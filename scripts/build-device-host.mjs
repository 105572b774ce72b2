// Builds the C device host at `npm install`: fetches Monocypher 4.0.2 and Mbed TLS 2.28.10's SHA-256 (from crates,
// each pinned by SHA-256) with cargo, checks the extracted sources against their own pinned hashes, then runs make.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The C crypto the host builds from, each fetched as a crates.io crate that ships the library's sources: the crate's
 * SHA-256 is checked before it is extracted, and each file we use against its own pinned SHA-256 on every install.
 * - Monocypher 4.0.2 (crate monocypher-sys 4.0.2): Ed25519 for bundle signatures, BLAKE2b for flash records.
 * - Mbed TLS 2.28.10 (crate mbedtls-sys-auto 2.28.15, which vendors it): only its SHA-256 (sha256.c, with
 *   platform_util.c for mbedtls_platform_zeroize), configured by devices/host/src/mbedtls_config.h.
 */
const LIBRARIES = [
  {
    name: 'Monocypher', version: '4.0.2', crate: 'monocypher-sys', crateVersion: '4.0.2', dir: 'monocypher',
    crateSha256: 'dc11b58afcc9e7b8dc05ae2a2050b5a7a368ba1155bc0f9b1ad81ccedf5f1c96',
    sources: [
      { from: 'Monocypher/src/monocypher.c', to: 'monocypher.c', sha256: '02174117935699d418443c75a558a287deb06ef8cf7c1adced61d9047d2f323d' },
      { from: 'Monocypher/src/monocypher.h', to: 'monocypher.h', sha256: 'fcaf6ed771358bb4f40fba016f6518ae86ec02b1b877d2cc35ad92d3a26fd7b3' },
      { from: 'Monocypher/src/optional/monocypher-ed25519.c', to: 'monocypher-ed25519.c',
        sha256: '97d581639dfa72be08a6d57deb7d79b736be001cb416819cab196d22559d242b' },
      { from: 'Monocypher/src/optional/monocypher-ed25519.h', to: 'monocypher-ed25519.h',
        sha256: '3a3035181f991a158d0e1c7567258f0bae8ba0f1f23c5512b4a1db1b3c9730ce' },
      { from: 'Monocypher/LICENCE.md', to: 'LICENCE.md', sha256: null },
    ],
  },
  {
    name: 'Mbed TLS', version: '2.28.10', crate: 'mbedtls-sys-auto', crateVersion: '2.28.15', dir: 'mbedtls',
    crateSha256: '2fdbd15978db1dec7592cf8864094bcf6f7a101d7f84af15c2423967079982c1',
    // Its default features pull in zlib; the fetch needs none of them.
    cargoDependency: '{ version = "=2.28.15", default-features = false }',
    sources: [
      { from: 'vendor/library/sha256.c', to: 'library/sha256.c', sha256: 'd9f4fc60ca752bfeb2f966aa91a0395a2412eb6df68670cb01c78e281248392a' },
      { from: 'vendor/library/platform_util.c', to: 'library/platform_util.c',
        sha256: '9d13519e95e03051d7da96d8d32da2404d42e811fa81547b9f70aa8908554d6c' },
      { from: 'vendor/library/common.h', to: 'library/common.h', sha256: 'dc64b7334fb329a5c6c3859575c90f739082d00709a67b774024a00d0135f6f0' },
      { from: 'vendor/include/mbedtls/sha256.h', to: 'include/mbedtls/sha256.h',
        sha256: 'a8cade472b56f564fe7d900281f91da06faa92773abac4a8223730e9956cd910' },
      { from: 'vendor/include/mbedtls/platform_util.h', to: 'include/mbedtls/platform_util.h',
        sha256: '7cc9a00e3443a44973da917368991a379218512e9afde165c953c69edacdad86' },
      { from: 'vendor/include/mbedtls/platform.h', to: 'include/mbedtls/platform.h',
        sha256: 'adc84f13022ee0b0da587ed138e0f08d6830faf2914cefc7e12d7dc61189eed5' },
      { from: 'vendor/include/mbedtls/error.h', to: 'include/mbedtls/error.h',
        sha256: 'a50196c2012fc2d8d2b02b698a43f90c404e040f82aabd4664b2133829599e34' },
      { from: 'vendor/include/mbedtls/threading.h', to: 'include/mbedtls/threading.h',
        sha256: 'c53a2728f80af1c783f5061d9e4958cdc744ecb8a30d3520cdcff3ceb5c074a6' },
      { from: 'vendor/LICENSE', to: 'LICENSE', sha256: '9b405ef4c89342f5eae1dd828882f931747f71001cfba7d114801039b52ad09b' },
    ],
  },
];

const CACHE_DIR = join(PACKAGE_ROOT, '.cache', 'crates');
const HOST_DIR = join(PACKAGE_ROOT, 'devices', 'host');
const THIRD_PARTY_DIR = join(HOST_DIR, 'third_party');
const WASM3_DIR = join(PACKAGE_ROOT, 'engine', 'native', 'wasm3');

class BuildError extends Error {}

const say = (message) => console.log(`rules: ${message}`);
const shown = (path) => relative(PACKAGE_ROOT, path) || '.';
const sha256Of = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const crateFile = (lib) => `${lib.crate}-${lib.crateVersion}.crate`;
const libraryDir = (lib) => join(THIRD_PARTY_DIR, lib.dir);

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
function findCargo(lib) {
  const dirs = [];
  if (process.env.CARGO_HOME) dirs.push(join(process.env.CARGO_HOME, 'bin'));
  dirs.push(join(homedir(), '.cargo', 'bin'));
  const cargo = onPath('cargo', dirs);
  if (!cargo) {
    throw new BuildError(`building the device host needs \`cargo\`, which fetches ${lib.name} ${lib.version} (its C sources ship in the ` +
      `crate ${lib.crate} ${lib.crateVersion} on crates.io); none was found on PATH or in ~/.cargo/bin. Install Rust with ` +
      '`sudo apt-get install cargo` (Debian/Ubuntu), `brew install rust` (macOS) or https://rustup.rs, then run `npm install` again');
  }
  return cargo;
}

/** Fetches the crate into a private CARGO_HOME with a throwaway manifest, and returns its verified .crate file. */
function fetchVerifiedCrate(lib) {
  const cached = join(CACHE_DIR, crateFile(lib));
  if (existsSync(cached)) {
    if (sha256Of(cached) === lib.crateSha256) return cached;
    say(`the cached ${shown(cached)} does not match its pinned SHA-256; fetching it again`);
    rmSync(cached);
  }
  const cargo = findCargo(lib);
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(CACHE_DIR, 'fetch-'));
  try {
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src', 'lib.rs'), '');
    writeFileSync(join(work, 'Cargo.toml'), [
      '[package]', 'name = "rules-fetch-c-sources"', 'version = "0.0.0"', 'edition = "2021"', 'publish = false', '',
      '[lib]', 'path = "src/lib.rs"', '', '[dependencies]', `${lib.crate} = ${lib.cargoDependency ?? `"=${lib.crateVersion}"`}`, ''].join('\n'));
    say(`fetching ${lib.name} ${lib.version} (crate ${lib.crate}==${lib.crateVersion}) with cargo`);
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
      ? readdirSync(registryCache).map((d) => join(registryCache, d, crateFile(lib))).find((p) => existsSync(p))
      : undefined;
    if (!found) {
      const output = `${fetch.stdout ?? ''}${fetch.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new BuildError(`cargo could not fetch ${lib.crate} ${lib.crateVersion}, which holds ${lib.name}'s C sources; check that ` +
        `cargo can reach crates.io.${output ? `\ncargo said:\n${output}` : ''}`);
    }
    const actual = sha256Of(found);
    if (actual !== lib.crateSha256) {
      throw new BuildError(`the fetched ${crateFile(lib)} has SHA-256 ${actual} but ${lib.crateSha256} is pinned; ` +
        'refusing to build the device host from unverified sources. Check which registry cargo uses.');
    }
    renameSync(found, cached);
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function sourcesAreIntact(lib) {
  return lib.sources.every((s) => existsSync(join(libraryDir(lib), s.to)) &&
    (s.sha256 === null || sha256Of(join(libraryDir(lib), s.to)) === s.sha256));
}

/** Replaces third_party/<dir>/ with the pinned files from the verified crate, checking each one. */
function extractSources(lib, crate) {
  mkdirSync(THIRD_PARTY_DIR, { recursive: true });
  const staging = mkdtempSync(join(THIRD_PARTY_DIR, `.${lib.dir}-extract-`));
  const inCrate = (s) => `${lib.crate}-${lib.crateVersion}/${s.from}`;
  try {
    const tar = spawnSync('tar', ['-xzmf', crate, '-C', staging, ...lib.sources.map(inCrate)], { encoding: 'utf8' });
    if (tar.status !== 0) throw new BuildError(`tar could not extract ${lib.name} from ${shown(crate)}: ${(tar.stderr ?? '').trim()}`);
    const out = join(staging, 'out');
    mkdirSync(out);
    for (const s of lib.sources) {
      const path = join(staging, inCrate(s));
      if (s.sha256 !== null && sha256Of(path) !== s.sha256) {
        throw new BuildError(`${inCrate(s)} in the verified crate does not match its pinned SHA-256; refusing to build`);
      }
      mkdirSync(dirname(join(out, s.to)), { recursive: true });
      renameSync(path, join(out, s.to));
    }
    rmSync(libraryDir(lib), { recursive: true, force: true });
    renameSync(out, libraryDir(lib));
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
  for (const lib of LIBRARIES) {
    if (sourcesAreIntact(lib)) continue;
    extractSources(lib, fetchVerifiedCrate(lib));
    if (!sourcesAreIntact(lib)) throw new BuildError(`${shown(libraryDir(lib))} does not match its pinned hashes after extraction`);
  }
  build();
  say(`built ${shown(join(HOST_DIR, 'build', 'posix', 'rules-board'))} (${LIBRARIES.map((l) => `${l.name} ${l.version}`).join(', ')})`);
}

try {
  main();
} catch (e) {
  console.error(`rules: ${e instanceof BuildError ? e.message : `building the device host failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`}`);
  process.exit(1);
}
