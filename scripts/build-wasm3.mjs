// Builds the wasm3 N-API binding at `npm install`: fetches wasm3 v0.5.0's C sources (the pywasm3 sdist from PyPI's
// simple index, checked against its pinned SHA-256 before anything reads it), extracts them to engine/native/wasm3/,
// checks every extracted file against scripts/wasm3-sources.sha256 on every run, and compiles engine/native/ with
// node-gyp against local Node headers.
//
//   node scripts/build-wasm3.mjs [--force] [--sources-only]
//
// --force fetches (unless cached and verified), extracts and builds again; --sources-only stops once the sources
// are in place and verified. RULES_PYPI_INDEX (else PIP_INDEX_URL, else https://pypi.org/simple) is the index.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import {
  chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

// wasm3's official v0.5.0 sources, as shipped in the pywasm3 sdist (its wasm3/ folder is upstream's source/).
const WASM3_PIP_PACKAGE = 'pywasm3';
const WASM3_VERSION = '0.5.0';
const ARCHIVE_NAME = `${WASM3_PIP_PACKAGE}-${WASM3_VERSION}.tar.gz`;
const ARCHIVE_SHA256 = '5a47c8a39f7f6ae71b3316b2e5d86c9d0db6e771a65f09a86e4d4aa3a19aefcc';
const ARCHIVE_SOURCES_FOLDER = `${WASM3_PIP_PACKAGE}-${WASM3_VERSION}/wasm3`;

/** Per-file SHA-256 of the extracted sources, in sha256sum's format. */
const SOURCES_MANIFEST = join(PACKAGE_ROOT, 'scripts', 'wasm3-sources.sha256');
const DEFAULT_INDEX = 'https://pypi.org/simple';

const CACHE_DIR = join(PACKAGE_ROOT, '.cache', 'wasm3');
const CACHED_ARCHIVE = join(CACHE_DIR, ARCHIVE_NAME);
const NATIVE_DIR = join(PACKAGE_ROOT, 'engine', 'native');
const WASM3_SOURCES_DIR = join(NATIVE_DIR, 'wasm3');
const OUR_SOURCES = [join(NATIVE_DIR, 'wasm3_node.c'), join(NATIVE_DIR, 'binding.gyp')];
const ADDON_PATH = join(NATIVE_DIR, 'build', 'Release', 'wasm3.node');

/** A failure the user can act on: printed as one message, without a stack trace. */
class BuildError extends Error {}

const say = (message) => console.log(`rules: ${message}`);
const shown = (path) => relative(PACKAGE_ROOT, path) || '.';

function onPath(command) {
  const extensions = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = join(dir, command + ext);
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch { /* not in this directory */ }
    }
  }
  return undefined;
}

/** Where node-gyp should take Node's headers from: never a download, only a local install. */
function localNodeHeaders() {
  const candidates = [];
  if (process.env.RULES_NODEDIR) candidates.push(process.env.RULES_NODEDIR);
  candidates.push(dirname(dirname(process.execPath)));
  for (const prefix of candidates) {
    const include = join(prefix, 'include', 'node');
    if (existsSync(join(include, 'node_api.h')) && existsSync(join(include, 'common.gypi'))) return prefix;
  }
  return undefined;
}

function installHint(debianPackages, macHint) {
  return `install with \`sudo apt-get install ${debianPackages}\` (Debian/Ubuntu) or ${macHint} (macOS)`;
}

/** Checks every tool up front so the user gets one message naming all that is missing. */
function checkPrerequisites() {
  const missing = [];
  const buildTools = [];
  const compiler = process.env.CC ? onPath(process.env.CC.split(' ')[0]) : (onPath('cc') ?? onPath('gcc') ?? onPath('clang'));
  if (!compiler) buildTools.push('a C compiler (cc, gcc or clang)');
  if (!onPath('make')) buildTools.push('make');
  if (buildTools.length > 0) {
    missing.push(`${buildTools.join(' and ')}; ${installHint('build-essential', '`xcode-select --install`')}`);
  }
  if (!onPath('tar')) {
    missing.push(`tar; ${installHint('tar', '`xcode-select --install`')}`);
  }
  const nodeDir = localNodeHeaders();
  if (!nodeDir) {
    const expected = join(dirname(dirname(process.execPath)), 'include', 'node');
    missing.push(`Node's C headers (node_api.h and common.gypi in ${expected}); use a Node.js ${process.versions.node} ` +
      'install that ships them (the official tarball, nvm or Homebrew do), or set RULES_NODEDIR to a Node prefix that has include/node/');
  }
  if (missing.length === 1) {
    throw new BuildError(`building the wasm3 binding needs ${missing[0]}`);
  }
  if (missing.length > 1) {
    throw new BuildError(`building the wasm3 binding needs:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  }
  return { nodeDir };
}

function newestMtime(paths) {
  let newest = 0;
  for (const path of paths) newest = Math.max(newest, statSync(path).mtimeMs);
  return newest;
}

function wasm3SourceFiles() {
  if (!existsSync(join(WASM3_SOURCES_DIR, 'wasm3.h'))) return [];
  return readdirSync(WASM3_SOURCES_DIR).map((name) => join(WASM3_SOURCES_DIR, name));
}

function addonIsUpToDate() {
  const sources = wasm3SourceFiles();
  if (!existsSync(ADDON_PATH) || sources.length === 0) return false;
  return statSync(ADDON_PATH).mtimeMs > newestMtime([...sources, ...OUR_SOURCES]);
}

function sha256Of(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The CAs to trust: Node's own, plus a bundle the machine points pip or OpenSSL at (SSL_CERT_FILE, PIP_CERT), for
 * networks that inspect TLS with their own CA. Node adds NODE_EXTRA_CA_CERTS by itself.
 */
function trustedCAs() {
  const extra = [process.env.SSL_CERT_FILE, process.env.PIP_CERT].filter((f) => f && existsSync(f));
  return extra.length ? [...tls.rootCertificates, ...extra.map((f) => readFileSync(f, 'utf8'))] : undefined;
}

/** GET with redirects; resolves to the body as a Buffer, or rejects with a message naming the URL. */
function get(url, redirects = 5) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : url.startsWith('http:') ? http : undefined;
    if (!client) {
      reject(new BuildError(`cannot fetch ${url}: only http and https indexes are supported`));
      return;
    }
    const options = { headers: { 'user-agent': 'rules-build-wasm3', accept: 'text/html, */*' }, ca: client === https ? trustedCAs() : undefined };
    const request = client.get(url, options, (res) => {
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && redirects > 0) {
        res.resume();
        resolve(get(new URL(res.headers.location, url).href, redirects - 1));
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        reject(new BuildError(`${url} answered HTTP ${res.statusCode}`));
        return;
      }
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', (e) => reject(new BuildError(`reading ${url} failed: ${e.message}`)));
    });
    request.setTimeout(120_000, () => request.destroy(new Error('no answer within 120 s')));
    request.on('error', (e) => reject(new BuildError(`cannot fetch ${url}: ${e.message}`)));
  });
}

/** The archive's URL from the package's page on a PEP 503 simple index (pip's protocol, served by every mirror). */
async function archiveUrl(index) {
  const page = `${index.replace(/\/+$/, '')}/${WASM3_PIP_PACKAGE}/`;
  const html = (await get(page)).toString('utf8');
  for (const m of html.matchAll(/<a\s[^>]*href="([^"]+)"[^>]*>([^<]*)<\/a>/gi)) {
    if (m[2].trim() === ARCHIVE_NAME) return new URL(m[1].replace(/&amp;/g, '&'), page).href.replace(/#.*$/, '');
  }
  throw new BuildError(`${page} does not list ${ARCHIVE_NAME}, which holds wasm3's C sources`);
}

/**
 * Returns the cached, verified sources archive, downloading it when the cache lacks it or holds something else.
 * The download is written only to a private temporary file and hashed; nothing reads it until the hash matches.
 */
async function fetchVerifiedArchive() {
  if (existsSync(CACHED_ARCHIVE)) {
    const cached = sha256Of(CACHED_ARCHIVE);
    if (cached === ARCHIVE_SHA256) return CACHED_ARCHIVE;
    say(`the cached ${shown(CACHED_ARCHIVE)} has SHA-256 ${cached}, not the pinned ${ARCHIVE_SHA256}; refusing it and downloading it again`);
    rmSync(CACHED_ARCHIVE);
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const downloadDir = mkdtempSync(join(CACHE_DIR, 'download-'));
  try {
    const index = process.env.RULES_PYPI_INDEX || process.env.PIP_INDEX_URL || DEFAULT_INDEX;
    say(`downloading wasm3 ${WASM3_VERSION} sources (${ARCHIVE_NAME}) from ${index}`);
    const url = await archiveUrl(index);
    const bytes = await get(url);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== ARCHIVE_SHA256) {
      throw new BuildError(`the downloaded ${ARCHIVE_NAME} (${url}) has SHA-256 ${actual} but ${ARCHIVE_SHA256} is pinned; ` +
        'refusing to build wasm3 from unverified sources. Check which package index is used (RULES_PYPI_INDEX, PIP_INDEX_URL).');
    }
    const downloaded = join(downloadDir, ARCHIVE_NAME);
    writeFileSync(downloaded, bytes);
    renameSync(downloaded, CACHED_ARCHIVE);
    return CACHED_ARCHIVE;
  } finally {
    rmSync(downloadDir, { recursive: true, force: true });
  }
}

/** The pinned per-file hashes: file name -> SHA-256. */
function pinnedSourceHashes() {
  const pinned = new Map();
  for (const line of readFileSync(SOURCES_MANIFEST, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) [ *]([\w.-]+)$/.exec(line.trim());
    if (m) pinned.set(m[2], m[1]);
  }
  if (pinned.size === 0) throw new BuildError(`${shown(SOURCES_MANIFEST)} lists no files; it must pin every wasm3 source file`);
  return pinned;
}

/** Every way engine/native/wasm3/ differs from the pinned files: changed, missing or extra (an extra header could shadow a system one). */
function sourceProblems() {
  if (!existsSync(WASM3_SOURCES_DIR)) return [`${shown(WASM3_SOURCES_DIR)} does not exist`];
  const pinned = pinnedSourceHashes();
  const problems = [];
  const present = readdirSync(WASM3_SOURCES_DIR);
  for (const name of present) {
    const path = join(WASM3_SOURCES_DIR, name);
    if (!pinned.has(name)) {
      problems.push(`${shown(path)} is not one of wasm3's pinned sources`);
    } else if (!statSync(path).isFile()) {
      problems.push(`${shown(path)} is not a file`);
    } else if (sha256Of(path) !== pinned.get(name)) {
      problems.push(`${shown(path)} does not match its pinned SHA-256`);
    }
  }
  for (const name of pinned.keys()) {
    if (!present.includes(name)) problems.push(`${shown(join(WASM3_SOURCES_DIR, name))} is missing`);
  }
  return problems;
}

/** Replaces engine/native/wasm3/ with the archive's wasm3/ folder, and nothing else from the archive. */
function extractSources(archive) {
  mkdirSync(NATIVE_DIR, { recursive: true });
  const staging = mkdtempSync(join(NATIVE_DIR, '.wasm3-extract-'));
  try {
    // -m gives the files the extraction time, so the addon is rebuilt whenever its sources are replaced.
    const tar = spawnSync('tar', ['-xzmf', archive, '-C', staging, '--strip-components=2', ARCHIVE_SOURCES_FOLDER],
      { encoding: 'utf8' });
    if (tar.status !== 0 || !existsSync(join(staging, 'wasm3.h'))) {
      throw new BuildError(`tar could not extract ${ARCHIVE_SOURCES_FOLDER}/ from ${shown(archive)}: ${(tar.stderr ?? '').trim()}`);
    }
    chmodSync(staging, 0o755); // mkdtemp makes it private; it is an ordinary source folder
    rmSync(WASM3_SOURCES_DIR, { recursive: true, force: true });
    renameSync(staging, WASM3_SOURCES_DIR);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function nodeGypScript() {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
  } catch {
    throw new BuildError('the node-gyp package is missing; run `npm install` in the package directory first');
  }
}

function compileAddon(nodeDir) {
  // npm passes its own config (a ~/.npmrc nodedir, a headers tarball) to scripts through the environment;
  // the explicit --nodedir below must be the only source of headers, so node-gyp never downloads any.
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_config_(nodedir|tarball|dist_url|disturl|devdir|target|runtime)$/i.test(key)) delete env[key];
  }
  say(`compiling the wasm3 binding with node-gyp (Node headers from ${nodeDir})`);
  const gyp = spawnSync(process.execPath,
    [nodeGypScript(), 'rebuild', '--release', `--directory=${NATIVE_DIR}`, `--nodedir=${nodeDir}`, '--jobs=max'],
    { encoding: 'utf8', env, cwd: PACKAGE_ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (gyp.status !== 0 || !existsSync(ADDON_PATH)) {
    const output = `${gyp.stdout ?? ''}${gyp.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new BuildError(`node-gyp could not build ${shown(ADDON_PATH)}${gyp.error ? ` (${gyp.error.message})` : ''}; ` +
      `its last output:\n${output}`);
  }
}

function checkAddonLoads() {
  const require = createRequire(import.meta.url);
  let addon;
  try {
    addon = require(ADDON_PATH);
  } catch (e) {
    throw new BuildError(`${shown(ADDON_PATH)} was built but does not load: ${e.message}`);
  }
  if (addon.wasm3Version !== WASM3_VERSION) {
    throw new BuildError(`${shown(ADDON_PATH)} reports wasm3 ${addon.wasm3Version}, expected ${WASM3_VERSION}`);
  }
}

async function main() {
  const force = process.argv.includes('--force');
  const sourcesOnly = process.argv.includes('--sources-only');
  // The extracted sources are checked on every run, not only when they are first extracted.
  const problems = sourceProblems();
  if (problems.length > 0 && existsSync(WASM3_SOURCES_DIR)) {
    say(`the wasm3 sources differ from the pinned ones:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
      'rules: extracting them again from the verified archive');
  }
  if (force || problems.length > 0) {
    extractSources(await fetchVerifiedArchive());
    const left = sourceProblems();
    if (left.length > 0) {
      throw new BuildError(`the sources extracted from the verified archive do not match ${shown(SOURCES_MANIFEST)}:\n` +
        left.map((p) => `  - ${p}`).join('\n'));
    }
  }
  if (sourcesOnly) {
    say(`the wasm3 ${WASM3_VERSION} sources in ${shown(WASM3_SOURCES_DIR)} match their pinned SHA-256`);
    return;
  }
  if (!force && addonIsUpToDate()) {
    say(`the wasm3 binding is up to date (${shown(ADDON_PATH)})`);
    return;
  }
  const { nodeDir } = checkPrerequisites();
  compileAddon(nodeDir);
  checkAddonLoads();
  say(`built ${shown(ADDON_PATH)} (wasm3 ${WASM3_VERSION})`);
}

main().catch((e) => {
  if (e instanceof BuildError) {
    console.error(`rules: ${e.message}`);
  } else {
    console.error(`rules: building the wasm3 binding failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
  }
  process.exit(1);
})
