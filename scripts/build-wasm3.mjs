// Builds the wasm3 N-API binding at `npm install`: fetches wasm3 v0.5.0's C sources (pinned by SHA-256)
// through pip, extracts them to engine/native/wasm3/ and compiles engine/native/ with node-gyp against local Node headers.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

// wasm3's official v0.5.0 sources, as shipped in the pywasm3 sdist (its wasm3/ folder is upstream's source/).
const WASM3_PIP_PACKAGE = 'pywasm3';
const WASM3_VERSION = '0.5.0';
const ARCHIVE_NAME = `${WASM3_PIP_PACKAGE}-${WASM3_VERSION}.tar.gz`;
const ARCHIVE_SHA256 = '5a47c8a39f7f6ae71b3316b2e5d86c9d0db6e771a65f09a86e4d4aa3a19aefcc';
const ARCHIVE_SOURCES_FOLDER = `${WASM3_PIP_PACKAGE}-${WASM3_VERSION}/wasm3`;

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

function succeeds(command, args) {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.status === 0;
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
  if (!onPath('python3') || !succeeds('python3', ['--version'])) {
    missing.push(`python3 with pip; ${installHint('python3 python3-pip', '`brew install python`')}`);
  } else if (!succeeds('python3', ['-m', 'pip', '--version'])) {
    missing.push(`pip for python3; ${installHint('python3-pip', '`python3 -m ensurepip --upgrade`')}`);
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

function runPipDownload(destination, isolatedBuild) {
  const args = ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '--disable-pip-version-check', '--no-input'];
  if (!isolatedBuild) args.push('--no-build-isolation');
  args.push(`${WASM3_PIP_PACKAGE}==${WASM3_VERSION}`, '-d', destination);
  return spawnSync('python3', args, { encoding: 'utf8', cwd: PACKAGE_ROOT });
}

/** Returns the cached, verified sources archive, downloading it with pip when the cache lacks it. */
function fetchVerifiedArchive() {
  if (existsSync(CACHED_ARCHIVE)) {
    if (sha256Of(CACHED_ARCHIVE) === ARCHIVE_SHA256) return CACHED_ARCHIVE;
    say(`the cached ${shown(CACHED_ARCHIVE)} does not match its pinned SHA-256; downloading it again`);
    rmSync(CACHED_ARCHIVE);
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const downloadDir = mkdtempSync(join(CACHE_DIR, 'download-'));
  try {
    say(`downloading wasm3 ${WASM3_VERSION} sources (${WASM3_PIP_PACKAGE}==${WASM3_VERSION}) with pip`);
    // pip prepares the sdist's metadata even for `download`; without the `wheel` package next to setuptools
    // that fails under --no-build-isolation, and an isolated build fetches setuptools and wheel through pip.
    let pip = runPipDownload(downloadDir, false);
    const downloaded = join(downloadDir, ARCHIVE_NAME);
    if (!existsSync(downloaded)) pip = runPipDownload(downloadDir, true);
    if (!existsSync(downloaded)) {
      const output = `${pip.stdout ?? ''}${pip.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      throw new BuildError(`pip could not download ${WASM3_PIP_PACKAGE}==${WASM3_VERSION}, which holds wasm3's C sources; ` +
        `check that \`python3 -m pip download ${WASM3_PIP_PACKAGE}==${WASM3_VERSION}\` can reach your package index.` +
        (output ? `\npip said:\n${output}` : ''));
    }
    const actual = sha256Of(downloaded);
    if (actual !== ARCHIVE_SHA256) {
      throw new BuildError(`the downloaded ${ARCHIVE_NAME} has SHA-256 ${actual} but ${ARCHIVE_SHA256} is pinned; ` +
        'refusing to build wasm3 from unverified sources. Check which package index pip uses.');
    }
    renameSync(downloaded, CACHED_ARCHIVE);
    return CACHED_ARCHIVE;
  } finally {
    rmSync(downloadDir, { recursive: true, force: true });
  }
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

function main() {
  const force = process.argv.includes('--force');
  if (!force && addonIsUpToDate()) {
    say(`the wasm3 binding is up to date (${shown(ADDON_PATH)})`);
    return;
  }
  const { nodeDir } = checkPrerequisites();
  if (force || wasm3SourceFiles().length === 0) {
    extractSources(fetchVerifiedArchive());
  }
  compileAddon(nodeDir);
  checkAddonLoads();
  say(`built ${shown(ADDON_PATH)} (wasm3 ${WASM3_VERSION})`);
}

try {
  main();
} catch (e) {
  if (e instanceof BuildError) {
    console.error(`rules: ${e.message}`);
  } else {
    console.error(`rules: building the wasm3 binding failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
  }
  process.exit(1);
}
