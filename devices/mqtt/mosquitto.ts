// A local Mosquitto broker for tests and benchmarks: started on a free loopback port with its own config,
// persistence and (optionally) TLS, passwords and ACLs in a temporary folder; restartable; always stopped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (listeners are written for you). */
  tls?: { caFile: string; certFile: string; keyFile: string; requireClientCert?: boolean };
  /** user -> password; when given, anonymous clients are refused. */
  passwords?: Record<string, string>;
  /** The ACL file's text. */
  acl?: string;
}

/** The broker's binary: on the PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export function mosquittoBinary(): string {
  if (spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined) return 'mosquitto';
  if (existsSync('/usr/sbin/mosquitto')) return '/usr/sbin/mosquitto';
  throw new Error('mosquitto is not installed: on Debian or Ubuntu, `apt-get install mosquitto` (.ci/run installs it)');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Mosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'rules-mosquitto-'));
  private child: ChildProcess | null = null;
  log = '';

  private constructor(readonly port: number, private readonly options: MosquittoOptions) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const broker = new Mosquitto(await freePort(), options);
    broker.writeConfig();
    await broker.launch();
    return broker;
  }

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  private writeConfig(): void {
    const lines = [
      // Started as root, mosquitto would drop to the `mosquitto` user, which cannot read this private folder.
      `user ${userInfo().username}`,
      'persistence true',
      `persistence_location ${this.dir}/`,
      'autosave_interval 1',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'max_queued_messages 10000',
      'per_listener_settings false',
      `listener ${this.port} 127.0.0.1`,
    ];
    if (this.options.tls) {
      lines.push(`cafile ${this.options.tls.caFile}`, `certfile ${this.options.tls.certFile}`, `keyfile ${this.options.tls.keyFile}`);
      if (this.options.tls.requireClientCert) lines.push('require_certificate true');
    }
    if (this.options.passwords) {
      const pw = join(this.dir, 'passwords');
      writeFileSync(pw, '');
      for (const [user, password] of Object.entries(this.options.passwords)) {
        const r = spawnSync('mosquitto_passwd', ['-b', pw, user, password], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
      }
      lines.push(`password_file ${pw}`, 'allow_anonymous false');
    } else {
      lines.push('allow_anonymous true');
    }
    if (this.options.acl !== undefined) {
      const acl = join(this.dir, 'acl');
      writeFileSync(acl, this.options.acl);
      lines.push(`acl_file ${acl}`);
    }
    writeFileSync(join(this.dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  }

  private async launch(): Promise<void> {
    const child = spawn(mosquittoBinary(), ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => { this.log += d.toString(); });
    this.child = child;
    try {
      await waitForPort(this.port, 10_000);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}; its log:\n${this.log}`);
    }
  }

  /** Stops the broker (SIGTERM: it saves its persistent sessions) and starts it again on the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.stopProcess();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  private async stopProcess(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
