// The example rules and the targets each is written for (its `targets` header line).
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { rulesDir } from './paths.js';
import { ruleTargets } from '../../compiler/index.js';

export interface Example {
  name: string;
  path: string;
  source: string;
  targets: string[];
}

export function examples(): Example[] {
  return readdirSync(rulesDir).filter((f) => f.endsWith('.rule')).sort().map((f) => {
    const path = join(rulesDir, f);
    const source = readFileSync(path, 'utf8');
    return { name: basename(f, '.rule'), path, source, targets: ruleTargets(source) ?? [] };
  });
}
