// One MQTT session to a broker, as gateways and the pusher keep it: a persistent session (clean start
// off), QoS 1, an optional last will, reconnection with exponential backoff and full jitter, and the
// caller's subscriptions made again on every connect whether or not the broker kept the session.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';

export interface BrokerOptions {
  /** mqtt://host:port, mqtts://host:port (TLS), ws:// or wss://. */
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM file paths for TLS: the CA that signed the broker's certificate, and a client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Keep the session (subscriptions and queued QoS 1 messages) across disconnects. Default true. */
  persistent?: boolean;
  /** MQTT protocol version: 4 (3.1.1) or 5. Default 4, which every broker speaks. */
  protocolVersion?: 4 | 5;
  connectTimeoutMs?: number;
}

export interface Will {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/** Timers and randomness, injectable so tests can drive backoff deterministically. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: Math.random,
};

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };

/** How long a clean disconnect may wait for messages in flight before the connection is just closed. */
const CLOSE_GRACE_MS = 2_000;

/** Full jitter: a uniformly random delay up to an exponentially growing cap (attempt counts from 0). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const cap = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** What goes wrong in a way a user can act on: bad URL, refused credentials, unreadable TLS files. */
export class BrokerError extends Error {
  override name = 'BrokerError';
}

/** A message whose acknowledgement (PUBACK) waits until the handler says it is done with it. */
export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => Promise<void> | void;

export interface SessionEvents {
  connect: [sessionPresent: boolean];
  disconnect: [reason: string];
  reconnecting: [attempt: number, delayMs: number];
}

export function clientOptions(options: BrokerOptions, will?: Will): IClientOptions {
  const read = (what: string, path?: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new BrokerError(`cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  const opts: IClientOptions = {
    clientId: options.clientId,
    clean: options.persistent === false,
    protocolVersion: options.protocolVersion ?? 4,
    reconnectPeriod: 0,
    resubscribe: false,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    keepalive: 30,
  };
  if (options.protocolVersion === 5 && options.persistent !== false) {
    opts.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
  }
  if (options.username !== undefined) opts.username = options.username;
  if (options.password !== undefined) opts.password = options.password;
  const ca = read('CA certificate', options.caFile);
  const cert = read('client certificate', options.certFile);
  const key = read('client key', options.keyFile);
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  if (will) opts.will = { topic: will.topic, payload: will.payload, qos: 1, retain: will.retain };
  return opts;
}

export function checkBrokerUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BrokerError(`"${url}" is not a broker URL; write it as mqtt://host:1883 or mqtts://host:8883`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new BrokerError(`"${url}": the scheme must be mqtt, mqtts, ws or wss, not ${parsed.protocol.replace(/:$/, '')}`);
  }
}

/**
 * A broker session that reconnects by itself until closed. Subscriptions given to `subscribe` are
 * remembered and made again after every connect.
 */
export class BrokerSession extends EventEmitter<SessionEvents> {
  private client: MqttClient | null = null;
  private readonly subscriptions = new Map<string, 0 | 1>();
  private handler: MessageHandler = () => {};
  private attempt = 0;
  private retryTimer: unknown = null;
  private closed = false;
  private connectedOnce = false;
  connected = false;

  constructor(
    private readonly options: BrokerOptions,
    private readonly will?: Will,
    private readonly clock: Clock = systemClock,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    super();
    checkBrokerUrl(options.url);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** Connects; resolves on the first successful connect, rejects if the first attempt fails. */
  start(): Promise<void> {
    const client = mqtt.connect(this.options.url, clientOptions(this.options, this.will));
    this.client = client;
    // The broker gets its PUBACK only once the handler is done, so a crash mid-install means redelivery.
    client.handleMessage = (packet, callback) => {
      Promise.resolve()
        .then(() => this.handler(packet.topic, Buffer.from(packet.payload as Buffer), packet))
        .then(() => callback(), (e) => callback(e instanceof Error ? e : new Error(String(e))));
    };
    return new Promise<void>((resolve, reject) => {
      client.on('connect', (connack) => {
        this.connected = true;
        this.attempt = 0;
        this.resubscribe().then(() => {
          if (!this.connectedOnce) {
            this.connectedOnce = true;
            resolve();
          }
          this.emit('connect', connack.sessionPresent);
        }, () => { /* a failed subscribe ends in a close, which retries */ });
      });
      client.on('error', (e) => {
        if (!this.connectedOnce) {
          this.closed = true;
          client.end(true);
          reject(new BrokerError(`cannot connect to ${this.options.url}: ${e.message}`));
        }
      });
      client.on('close', () => {
        const wasConnected = this.connected;
        this.connected = false;
        if (wasConnected) this.emit('disconnect', 'connection closed');
        if (!this.connectedOnce && !this.closed) {
          this.closed = true;
          client.end(true);
          reject(new BrokerError(`cannot connect to ${this.options.url}: the connection was closed`));
          return;
        }
        this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer !== null || !this.client) return;
    const delay = backoffDelay(this.attempt, this.backoff, this.clock.random);
    this.emit('reconnecting', this.attempt, delay);
    this.attempt++;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.client && !this.client.connected) this.client.reconnect();
    }, delay);
  }

  private async resubscribe(): Promise<void> {
    if (!this.client || this.subscriptions.size === 0) return;
    const topics = Object.fromEntries([...this.subscriptions].map(([t, qos]) => [t, { qos }]));
    await this.client.subscribeAsync(topics);
  }

  async subscribe(topic: string, qos: 0 | 1 = 1): Promise<void> {
    this.subscriptions.set(topic, qos);
    if (this.client?.connected) await this.client.subscribeAsync(topic, { qos });
  }

  async publish(topic: string, payload: Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    if (!this.client) throw new BrokerError('the session is not started');
    await this.client.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false });
  }

  /** Ends the session. With `graceful`, a clean disconnect: the broker does not send the last will. */
  async close(graceful = true): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    if (!client) return;
    if (!graceful) {
      await client.endAsync(true);
      return;
    }
    // A graceful end waits for QoS 1 messages in flight; one lost in a broker restart is never acknowledged.
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => { client.end(true, {}, () => resolve()); }, CLOSE_GRACE_MS);
    });
    await Promise.race([client.endAsync(false), forced]);
    clearTimeout(timer);
  }
}
