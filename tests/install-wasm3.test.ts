// Tests of the install step (scripts/build-wasm3.mjs --sources-only) on a scratch copy of the package, against a
// PEP 503 index served on 127.0.0.1: the archive is checked against its pinned SHA-256 before anything reads it,
// a bad cached or downloaded archive is refused, and the extracted sources are checked on every run.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARCHIVE = 'pywasm3-0.5.0.tar.gz';
/** The archive `npm install` fetched and verified for this checkout. */
const GENUINE = readFileSync(join(ROOT, '.cache', 'wasm3', ARCHIVE));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const PINNED = new Map(readFileSync(join(ROOT, 'scripts', 'wasm3-sources.sha256'), 'utf8').split('\n')
  .filter((l) => /^[0-9a-f]{64} /.test(l)).map((l) => [l.slice(66), l.slice(0, 64)] as const));

interface Index { url: string; requests: string[]; server: Server }

/** A simple index listing the archive, serving `archive` for it. */
async function serveIndex(archive: Uint8Array): Promise<Index> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/simple/pywasm3/') {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><body><a href="../../files/${ARCHIVE}#sha256=${sha256(archive)}">${ARCHIVE}</a><br/></body></html>`);
    } else if (req.url === `/files/${ARCHIVE}`) {
      res.end(Buffer.from(archive));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple`, requests, server };
}

/** A scratch package: the install script, the pinned hashes and the binding's sources, nothing fetched yet. */
function scratchPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-install-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'engine', 'native'), { recursive: true });
  for (const f of ['build-wasm3.mjs', 'wasm3-sources.sha256']) copyFileSync(join(ROOT, 'scripts', f), join(dir, 'scripts', f));
  for (const f of ['binding.gyp', 'wasm3_node.c']) copyFileSync(join(ROOT, 'engine', 'native', f), join(dir, 'engine', 'native', f));
  return dir;
}

function install(dir: string, index: Index): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, 'scripts', 'build-wasm3.mjs'), '--sources-only'],
      { cwd: dir, env: { ...process.env, RULES_PYPI_INDEX: index.url, PIP_INDEX_URL: '' } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }));
  });
}

/** The extracted files with their hashes, to compare with the pinned list. */
function extracted(dir: string): Map<string, string> {
  const sources = join(dir, 'engine', 'native', 'wasm3');
  return new Map(readdirSync(sources).sort().map((f) => [f, sha256(readFileSync(join(sources, f)))] as const));
}

async function withScratch(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = scratchPackage();
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the pinned list covers every wasm3 source file the binding compiles', (t) => {
  const gyp = readFileSync(join(ROOT, 'engine', 'native', 'binding.gyp'), 'utf8');
  const compiled = [...gyp.matchAll(/"wasm3\/([\w.]+)"/g)].map((m) => m[1]);
  t.true(compiled.length >= 10);
  t.deepEqual(compiled.filter((f) => !PINNED.has(f)), []);
  t.true(PINNED.has('wasm3.h'));
});

test('a fresh install fetches the archive from the index, checks it and extracts exactly the pinned sources', async (t) => {
  await withScratch(async (dir) => {
    const index = await serveIndex(GENUINE);
    try {
      const { code, output } = await install(dir, index);
      t.is(code, 0, output);
      t.regex(output, /downloading wasm3 0\.5\.0 sources \(pywasm3-0\.5\.0\.tar\.gz\) from http:\/\/127\.0\.0\.1/);
      t.regex(output, /sources in engine\/native\/wasm3 match their pinned SHA-256/);
      t.deepEqual(index.requests, ['/simple/pywasm3/', `/files/${ARCHIVE}`]);
      t.deepEqual(extracted(dir), new Map([...PINNED].sort()));
      t.is(sha256(readFileSync(join(dir, '.cache', 'wasm3', ARCHIVE))), sha256(GENUINE));
    } finally {
      index.server.close();
    }
  });
});

test('an archive from the index that does not match its pinned SHA-256 is refused before anything reads it', async (t) => {
  await withScratch(async (dir) => {
    // A valid gzip with other content: tar would extract it happily, so only the hash check stands in the way.
    const tampered = Buffer.concat([GENUINE, Buffer.from([0])]);
    const index = await serveIndex(tampered);
    try {
      const { code, output } = await install(dir, index);
      t.is(code, 1, output);
      t.regex(output, new RegExp(`the downloaded ${ARCHIVE.replace(/\./g, '\\.')} \\(.*\\) has SHA-256 ${sha256(tampered)} but 5a47c8a3\\w+ is pinned; refusing`));
      t.false(existsSync(join(dir, 'engine', 'native', 'wasm3')), 'nothing was extracted');
      t.false(existsSync(join(dir, '.cache', 'wasm3', ARCHIVE)), 'nothing was cached');
      t.deepEqual(readdirSync(join(dir, '.cache', 'wasm3')), [], 'no temporary download is left behind');
    } finally {
      index.server.close();
    }
  });
});

test('a tampered cached archive is refused and fetched again', async (t) => {
  await withScratch(async (dir) => {
    mkdirSync(join(dir, '.cache', 'wasm3'), { recursive: true });
    writeFileSync(join(dir, '.cache', 'wasm3', ARCHIVE), Buffer.concat([GENUINE.subarray(0, 1000), Buffer.from('evil')]));
    const index = await serveIndex(GENUINE);
    try {
      const { code, output } = await install(dir, index);
      t.is(code, 0, output);
      t.regex(output, /the cached \.cache\/wasm3\/pywasm3-0\.5\.0\.tar\.gz has SHA-256 \w+, not the pinned 5a47c8a3\w+; refusing it and downloading it again/);
      t.deepEqual(index.requests, ['/simple/pywasm3/', `/files/${ARCHIVE}`]);
      t.is(sha256(readFileSync(join(dir, '.cache', 'wasm3', ARCHIVE))), sha256(GENUINE));
      t.deepEqual(extracted(dir), new Map([...PINNED].sort()));
    } finally {
      index.server.close();
    }
  });
});

test('a changed, extra or missing extracted file is detected on the next install and restored from the verified archive', async (t) => {
  await withScratch(async (dir) => {
    const index = await serveIndex(GENUINE);
    try {
      t.is((await install(dir, index)).code, 0);
      const sources = join(dir, 'engine', 'native', 'wasm3');
      appendFileSync(join(sources, 'm3_exec.c'), '\n/* changed */\n');
      writeFileSync(join(sources, 'stdint.h'), '/* would shadow the system header */\n');
      rmSync(join(sources, 'm3_env.h'));
      const { code, output } = await install(dir, index);
      t.is(code, 0, output);
      t.regex(output, /engine\/native\/wasm3\/m3_exec\.c does not match its pinned SHA-256/);
      t.regex(output, /engine\/native\/wasm3\/stdint\.h is not one of wasm3's pinned sources/);
      t.regex(output, /engine\/native\/wasm3\/m3_env\.h is missing/);
      t.regex(output, /extracting them again from the verified archive/);
      t.deepEqual(extracted(dir), new Map([...PINNED].sort()));
      t.is(index.requests.length, 2, 'the cached archive, still verified, was used: no second download');
      const quiet = await install(dir, index);
      t.is(quiet.code, 0);
      t.notRegex(quiet.output, /differ|extracting/, 'an untouched install checks the sources and says nothing more');
    } finally {
      index.server.close();
    }
  });
});
