// The example rules and the targets each declares it fits (its `# targets:` comment line).
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { rulesDir } from './paths.js';

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
    const line = /^# targets: (.+)$/m.exec(source);
    return { name: basename(f, '.rule'), path, source, targets: line ? line[1].trim().split(/\s+/) : [] };
  });
}
