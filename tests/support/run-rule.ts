// Compiles a rule and runs it tick by tick on an engine with a simulated board: the harness of the
// behaviour tests.
import { compile, type CompileResult } from '../../compiler/index.js';
import { loadRuleOn, type LoadedRule } from '../../engine/engine.js';

export interface TickInput {
  now?: number;
  sensors?: Record<number, number>;
  gpio?: Record<number, number>;
}

export interface TickOutput {
  writes: Record<number, number>;
  returned: number;
}

export interface RunResult {
  result: CompileResult;
  ticks: TickOutput[];
  /**
   * How often the artifact itself called io.sr / io.gr for each channel and pin, per tick. The engine reads every
   * declared input once per tick before `run`, so these calls are counted on a bare Node instance of the same
   * artifact, run alongside with the same inputs.
   */
  reads: { sensor: Record<number, number>; gpio: Record<number, number> }[];
  state: (name: string) => number;
}

export async function build(source: string, target = 'rpi'): Promise<CompileResult> {
  const result = await compile(source, { target });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !result.artifact) {
    throw new Error(`does not compile:\n${errors.map((d) => `${d.span?.line}:${d.span?.column} ${d.code} ${d.message}`).join('\n')}`);
  }
  return result;
}

export async function runRule(source: string, inputs: TickInput[], options: { target?: string; backend?: 'wasm3' | 'node' } = {}): Promise<RunResult> {
  const result = await build(source, options.target);
  const artifact = result.artifact!;
  const sensors = new Map<number, number>();
  const pins = new Map<number, number>();
  let writes: Record<number, number> = {};
  let reads = { sensor: {} as Record<number, number>, gpio: {} as Record<number, number> };
  const loaded: LoadedRule = loadRuleOn(options.backend ?? 'wasm3', artifact.wasm, {
    manifest: artifact.manifest,
    target: result.target,
    io: {
      readSensor: (ch) => sensors.get(ch) ?? 0,
      readGpio: (pin) => pins.get(pin) ?? 0,
      writeGpio: (pin, level) => { writes[pin] = level; },
    },
  });
  const ranges = new Map(artifact.manifest.ranges.map((r) => [r.channel, r] as const));
  const bare = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(artifact.wasm)), {
    io: {
      sr: (ch: number) => {
        reads.sensor[ch] = (reads.sensor[ch] ?? 0) + 1;
        const r = ranges.get(ch)!;
        return Math.min(r.max, Math.max(r.min, Math.trunc(sensors.get(ch) ?? 0)));
      },
      gr: (pin: number) => { reads.gpio[pin] = (reads.gpio[pin] ?? 0) + 1; return pins.get(pin) ? 1 : 0; },
      gw: () => {},
    },
  }).exports.run as (now: number) => number;
  const ticks: TickOutput[] = [];
  const allReads: RunResult['reads'] = [];
  try {
    let now = 0;
    for (const input of inputs) {
      for (const [ch, v] of Object.entries(input.sensors ?? {})) sensors.set(Number(ch), v);
      for (const [pin, v] of Object.entries(input.gpio ?? {})) pins.set(Number(pin), v);
      writes = {};
      reads = { sensor: {}, gpio: {} };
      now = input.now ?? now;
      ticks.push({ returned: loaded.run(now), writes });
      bare(now | 0);
      allReads.push(reads);
    }
    const globals = Array.from({ length: loaded.globalCount }, (_, i) => loaded.getGlobal(i));
    return {
      result, ticks, reads: allReads,
      state: (name) => {
        const slot = artifact.stateSlots.find((s) => s.name === name);
        if (!slot) throw new Error(`no state ${name}`);
        if (slot.global === null) return slot.initial;
        return globals[slot.global];
      },
    };
  } finally {
    loaded.close();
  }
}
