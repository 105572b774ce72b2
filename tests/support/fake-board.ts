// A test double of the device host's SMP server (docs/smp.md): groups 0 and 64 over packet bodies,
// verifying bundles with contract/bundle.ts. For unit tests of the client layers only; the end-to-end
// tests use the real device host.
import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { decode } from 'cborg';
import { BUNDLE_ERRORS, keyId, verifyBundle } from '../../contract/bundle.js';
import { decodeHeader, encodeHeader, encodePayload, HEADER_BYTES, type Payload } from '../../devices/smp/protocol.js';

interface Installed { name: string; version: number; sha256: Uint8Array; bundleSha: string }

export interface FakeBoardOptions {
  target: string;
  trusted: KeyObject[];
  mtu?: number;
  maxBundle?: number;
  maxRules?: number;
}

export class FakeBoard {
  readonly rules = new Map<string, Installed>();
  readonly floors = new Map<string, number>();
  /** Every request the board handled: group, command, payload. */
  readonly log: { group: number; command: number; payload: Payload }[] = [];
  private upload: { sha: string; len: number; bytes: number[]; outcome: Payload | null } | null = null;

  constructor(readonly options: FakeBoardOptions) {}

  /** Answers one request body; null when the request gets no answer. */
  handle(body: Uint8Array): Uint8Array | null {
    const header = decodeHeader(body);
    const payload = decode(body.subarray(HEADER_BYTES, HEADER_BYTES + header.length)) as Payload;
    this.log.push({ group: header.group, command: header.command, payload });
    const answer = this.answer(header.group, header.command, payload);
    const data = encodePayload(answer);
    const out = new Uint8Array(HEADER_BYTES + data.length);
    out.set(encodeHeader({ ...header, op: header.op + 1, length: data.length }));
    out.set(data, HEADER_BYTES);
    return out;
  }

  private answer(group: number, command: number, p: Payload): Payload {
    if (group === 0 && command === 0) return { r: p.d };
    if (group === 0 && command === 5) return {};
    if (group !== 64) return { rc: 8 };
    switch (command) {
      case 0: return this.install(p);
      case 1: return { rules: [...this.rules.values()].map((r) => this.summary(r)) };
      case 2: {
        const rule = this.rules.get(String(p.name));
        if (!rule) return groupError(13, `no rule named ${String(p.name)}`);
        this.rules.delete(rule.name);
        return {};
      }
      case 3: {
        const rule = this.rules.get(String(p.name));
        if (!rule) return groupError(13, `no rule named ${String(p.name)}`);
        return { ...this.summary(rule), ticks: 7, sat: [[0, 2]], asf: 1 };
      }
      case 4: return {
        target: this.options.target, abi: 1, mtu: this.options.mtu ?? 512, maxBundle: this.options.maxBundle ?? 1536,
        maxRules: this.options.maxRules ?? 4, host: 'fake-board 0', keys: this.options.trusted.map((k) => keyId(k)),
      };
      default: return { rc: 8 };
    }
  }

  private summary(r: Installed): Payload {
    return { name: r.name, version: r.version, sha256: r.sha256, state: 'running' };
  }

  private install(p: Payload): Payload {
    const off = p.off as number;
    const data = p.data as Uint8Array;
    if (off === 0 && p.sha instanceof Uint8Array && typeof p.len === 'number') {
      const sha = Buffer.from(p.sha).toString('hex');
      if (this.upload && this.upload.sha === sha && this.upload.len === p.len && this.upload.outcome === null) return { off: this.upload.bytes.length };
      if (p.len > (this.options.maxBundle ?? 1536)) return groupError(8, `a bundle of ${p.len} bytes; this device takes ${this.options.maxBundle ?? 1536}`);
      this.upload = { sha, len: p.len, bytes: [], outcome: null };
    } else if (!this.upload) {
      return groupError(11, 'no upload in progress');
    }
    const u = this.upload;
    if (u.outcome) return u.outcome;
    if (off !== u.bytes.length) return { off: u.bytes.length };
    if (off + data.length > u.len) return groupError(11, 'a chunk past the announced length');
    u.bytes.push(...data);
    if (u.bytes.length < u.len) return { off: u.bytes.length };
    u.outcome = this.commit(new Uint8Array(u.bytes));
    return u.outcome;
  }

  private commit(bundle: Uint8Array): Payload {
    const installedVersion = (rule: string) => this.rules.get(rule)?.version ?? this.floors.get(rule);
    const verdict = verifyBundle(bundle, { trusted: this.options.trusted, target: this.options.target, installedVersion });
    if (!verdict.ok) return groupError(BUNDLE_ERRORS[verdict.code], verdict.message);
    const m = verdict.value.manifest;
    if (!this.rules.has(m.rule) && this.rules.size >= (this.options.maxRules ?? 4)) return groupError(12, 'every rule slot is taken');
    const installed = { name: m.rule, version: m.version, sha256: new Uint8Array(Buffer.from(m.sha256, 'hex')), bundleSha: createHash('sha256').update(bundle).digest('hex') };
    this.rules.set(m.rule, installed);
    this.floors.set(m.rule, m.version);
    return { off: bundle.length, ...this.summary(installed) };
  }
}

function groupError(rc: number, rsn: string): Payload {
  return { err: { group: 64, rc }, rsn };
}
