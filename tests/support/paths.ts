// Paths the tests share: the repository root, found from the compiled test file's location.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const repoRoot = findRoot();
export const rulesDir = join(repoRoot, 'rules');
export const goldenDir = join(repoRoot, 'tests', 'golden');
export const cliPath = join(repoRoot, 'dist', 'cli', 'rules.js');
