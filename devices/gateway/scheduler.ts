// Calls each installed rule on its period (device-abi.md, item 6): `run` gets the milliseconds since the
// rule started; a positive return is the next delay (raised to the target's shortest period), 0 means
// the manifest's period, a negative one a failed assumption (counted by the engine), then one period.
// A trap disables that rule alone. Timers are injectable so tests run on a fake clock.

export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface Tickable {
  readonly name: string;
  periodMs: number;
  /** One tick; returns the raw value `run` returned, or throws when the rule trapped. */
  tick(nowMs: number): number;
}

export function nextDelayMs(returned: number, periodMs: number, minPeriodMs: number): number {
  if (returned <= 0) return periodMs;
  return Math.max(returned, minPeriodMs);
}

interface Entry {
  rule: Tickable;
  startedAt: number;
  timer: unknown;
}

export class RuleScheduler {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly minPeriodMs: number,
    private readonly onTrap: (rule: string, error: unknown) => void,
    private readonly clock: SchedulerClock = realClock,
  ) {}

  /** Starts a rule (replacing any rule of the same name); its first tick is due at once. */
  start(rule: Tickable): void {
    this.stop(rule.name);
    const entry: Entry = { rule, startedAt: this.clock.now(), timer: null };
    this.entries.set(rule.name, entry);
    entry.timer = this.clock.setTimeout(() => this.fire(entry), 0);
  }

  stop(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.clock.clearTimeout(entry.timer);
    this.entries.delete(name);
  }

  stopAll(): void {
    for (const name of [...this.entries.keys()]) this.stop(name);
  }

  running(): string[] {
    return [...this.entries.keys()];
  }

  private fire(entry: Entry): void {
    if (this.entries.get(entry.rule.name) !== entry) return;
    let returned: number;
    try {
      returned = entry.rule.tick(Math.floor(this.clock.now() - entry.startedAt));
    } catch (e) {
      this.entries.delete(entry.rule.name);
      this.onTrap(entry.rule.name, e);
      return;
    }
    const delay = nextDelayMs(returned, entry.rule.periodMs, this.minPeriodMs);
    entry.timer = this.clock.setTimeout(() => this.fire(entry), delay);
  }
}
