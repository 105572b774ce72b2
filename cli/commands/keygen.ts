// `rules keygen [--out NAME] [--force]`: an Ed25519 key pair for signing bundles (docs/bundle.md §1).
import type { CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { generateKeyPair, keyId, privateKeyPem, publicKeyText } from '../../contract/bundle.js';
import { writeFileAtomic } from '../../contract/atomic-file.js';
import { UsageError } from '../files.js';
import { guarded, withJson, type SetExit } from './shared.js';

interface KeygenArgs { out: string; force: boolean; comment?: string; json: boolean }

export function keygenCommand(setExit: SetExit): CommandModule<object, KeygenArgs> {
  return {
    command: 'keygen',
    describe: 'make an Ed25519 key pair for signing bundles: NAME.key (private, mode 0600) and NAME.pub',
    builder: (y) => withJson(y)
      .option('out', { alias: 'o', type: 'string', default: 'rules', describe: 'file name without extension' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing key pair' })
      .option('comment', { type: 'string', describe: 'a note at the end of the public key line' }) as any,
    handler: (args) => guarded(setExit, () => {
      const keyPath = `${args.out}.key`;
      const pubPath = `${args.out}.pub`;
      if (!args.force && (existsSync(keyPath) || existsSync(pubPath))) {
        throw new UsageError(`${keyPath} or ${pubPath} exists already; pass --force to replace it (bundles signed with the old key stop verifying)`);
      }
      const { privateKey, publicKey } = generateKeyPair();
      writeFileAtomic(keyPath, privateKeyPem(privateKey), { mode: 0o600 });
      writeFileAtomic(pubPath, publicKeyText(publicKey, args.comment));
      const id = Buffer.from(keyId(publicKey)).toString('hex');
      if (args.json) {
        process.stdout.write(JSON.stringify({ privateKey: keyPath, publicKey: pubPath, keyId: id }, null, 2) + '\n');
      } else {
        process.stdout.write(`wrote ${keyPath} (private: keep it secret) and ${pubPath} (give it to your boards); key id ${id}\n`);
      }
      return 0;
    }),
  };
}
