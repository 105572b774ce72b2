// Preloaded into a CLI process under test (`node --import module-log.js`): records every module it
// loads into the file $RULES_MODULE_LOG, one path a line: ES modules as they load, CommonJS ones
// (native addons included) from require's cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.RULES_MODULE_LOG;
if (log) {
  register('./module-log-hooks.js', import.meta.url, { data: { log } });
  process.on('exit', () => {
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    appendFileSync(log, loaded.map((path) => `${pathToFileURL(path).href}\n`).join(''));
  });
}
