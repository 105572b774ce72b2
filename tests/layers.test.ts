// The code's layers point one way: contract/ below both compiler/ and engine/, which never import
// each other; the CLI reaches the compiler through its public entry points only.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { repoRoot } from './support/paths.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(repoRoot, dir))) {
    const rel = join(dir, name);
    if (statSync(join(repoRoot, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** The top-level folder of every relative module a source file imports. */
function importedFolders(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), m[1]));
    out.push(relative(repoRoot, join(repoRoot, target)).split(/[\\/]/)[0]);
  }
  return out;
}

const allowed: Record<string, string[]> = {
  contract: ['contract'],
  compiler: ['compiler', 'contract'],
  engine: ['engine', 'contract'],
};

for (const [layer, mayImport] of Object.entries(allowed)) {
  test(`${layer}/ imports only from ${mayImport.join(', ')}`, (t) => {
    const files = sources(layer);
    t.true(files.length > 0);
    for (const file of files) {
      for (const folder of importedFolders(file)) {
        t.true(mayImport.includes(folder), `${file} imports from ${folder}/`);
      }
    }
  });
}

test('the CLI reaches the compiler only through its entry points (index, build)', (t) => {
  for (const file of sources('cli')) {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    for (const m of text.matchAll(/from\s+['"](\.[^'"]*\/compiler\/([^'"]+))['"]/g)) {
      t.true(['index.js', 'build.js', 'diagnostics.js'].includes(m[2]), `${file} imports compiler/${m[2]}`);
    }
  }
});
