// Install-time validation of a rule artifact against its manifest and the host's target profile
// (device-abi.md §4.1, and the module verifier of §4.5; the bundle signature is checked elsewhere).
import { ABI_IMPORTS, ABI_VERSION, RUN_EXPORT, RUN_TYPE, sha256Hex, type ImportName } from '../contract/abi.js';
import type { Manifest } from '../contract/manifest.js';
import type { TargetProfile } from '../contract/targets.js';
import { describeFuncType, mvpProblems, parseWasmModule, type FuncType, type WasmModule } from '../contract/wasm-module.js';
import { verifyModule } from '../contract/verify.js';

const sameType = (a: FuncType, b: FuncType) =>
  a.params.length === b.params.length && a.results.length === b.results.length &&
  a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);

const isIntegerList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));


function checkManifestAgainstTarget(manifest: Manifest, target: TargetProfile, problems: string[]): void {
  if (manifest.target !== target.name) {
    problems.push(`the manifest is for target "${manifest.target}" but this host is target "${target.name}"`);
  }
  if (manifest.abi !== ABI_VERSION) {
    problems.push(`the manifest is for device ABI ${manifest.abi}; this host implements ABI ${ABI_VERSION}`);
  }
  const caps = manifest.capabilities as Partial<Manifest['capabilities']> | undefined;
  if (!caps || !isIntegerList(caps.gpio_in) || !isIntegerList(caps.gpio_out) || !isIntegerList(caps.sensor)) {
    problems.push('the manifest\'s capabilities must list integer pins and channels in "gpio_in", "gpio_out" and "sensor"');
    return;
  }
  const { min, max } = target.gpio;
  for (const kind of ['gpio_in', 'gpio_out'] as const) {
    for (const pin of caps[kind]!) {
      if (pin < min || pin > max) {
        problems.push(`the manifest declares ${kind} pin ${pin}, but target "${target.name}" has pins ${min}..${max}`);
      }
    }
  }
  const channels = target.sensors.map((s) => s.channel);
  for (const channel of caps.sensor) {
    if (!channels.includes(channel)) {
      problems.push(`the manifest declares sensor channel ${channel}, but target "${target.name}" has channels ` +
        `${channels.length ? channels.join(', ') : 'none'}`);
    }
  }
  checkRanges(manifest, target, caps.sensor, problems);
}

const isInt32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647;

/** `ranges`: exactly one entry per declared channel, each a non-empty int32 range within the profile's range. */
function checkRanges(manifest: Manifest, target: TargetProfile, declared: number[], problems: string[]): void {
  const ranges = (manifest as Partial<Manifest>).ranges as unknown;
  if (!Array.isArray(ranges)) {
    problems.push('the manifest\'s "ranges" must list {channel, min, max} for every declared sensor channel');
    return;
  }
  const seen = new Set<number>();
  for (const entry of ranges as unknown[]) {
    const r = entry as Partial<Manifest['ranges'][number]> | null;
    if (typeof r !== 'object' || r === null || !isInt32(r.channel) || !isInt32(r.min) || !isInt32(r.max)) {
      problems.push(`the manifest's "ranges" has an entry ${JSON.stringify(entry)}; each must be {channel, min, max} with int32 values`);
      continue;
    }
    const { channel, min, max } = r as Manifest['ranges'][number];
    if (seen.has(channel)) problems.push(`the manifest's "ranges" lists sensor channel ${channel} more than once`);
    seen.add(channel);
    if (!declared.includes(channel)) {
      problems.push(`the manifest's "ranges" has sensor channel ${channel}, which its capabilities do not declare`);
      continue;
    }
    if (min > max) problems.push(`the manifest's range for sensor channel ${channel} is ${min}..${max}: min is above max`);
    const profile = target.sensors.find((s) => s.channel === channel);
    if (profile && (min < profile.min || max > profile.max)) {
      problems.push(`the manifest's range for sensor channel ${channel} is ${min}..${max}, outside target "${target.name}"'s ` +
        `range ${profile.min}..${profile.max} for it`);
    }
  }
  // A channel the target lacks is reported above, once.
  for (const channel of declared.filter((ch) => target.sensors.some((s) => s.channel === ch))) {
    if (!seen.has(channel)) problems.push(`the manifest declares sensor channel ${channel} but gives no range for it in "ranges"`);
  }
}

function checkImports(m: WasmModule, manifest: Manifest, problems: string[]): void {
  const seen = new Set<string>();
  const listed = Array.isArray(manifest.imports) ? manifest.imports : [];
  const caps = manifest.capabilities;
  for (const imp of m.imports) {
    const full = `${imp.module}.${imp.name}`;
    if (imp.kind !== 'func') {
      problems.push(`the module imports a ${imp.kind} ("${full}"); rules may import only the io functions`);
      continue;
    }
    if (imp.module !== 'io') {
      problems.push(`the module imports "${full}"; rules may import only from module "io"`);
      continue;
    }
    const abi = ABI_IMPORTS[full as ImportName];
    if (!abi) {
      problems.push(`the module imports "${full}", which is not in the device ABI (io.gr, io.gw, io.sr)`);
      continue;
    }
    if (seen.has(full)) {
      problems.push(`the module imports "${full}" more than once`);
      continue;
    }
    seen.add(full);
    const type = m.types[imp.typeIndex];
    if (!type) {
      problems.push(`the import "${full}" refers to type ${imp.typeIndex}, which does not exist`);
    } else if (!sameType(type, abi.type)) {
      problems.push(`the import "${full}" has type ${describeFuncType(type)}; the device ABI requires ${describeFuncType(abi.type)}`);
    }
    if (!listed.includes(full as ImportName)) {
      problems.push(`the module imports "${full}" but the manifest's "imports" does not list it`);
    }
    const declared = caps?.[abi.capability];
    if (!Array.isArray(declared) || declared.length === 0) {
      problems.push(`the module imports "${full}" but the manifest declares no ${abi.capability} capability`);
    }
  }
}

function checkExports(m: WasmModule, problems: string[]): void {
  const importedFunctions = m.imports.filter((imp) => imp.kind === 'func').length;
  const functionType = (index: number): FuncType | undefined => {
    const typeIndex = index < importedFunctions
      ? (m.imports.filter((imp) => imp.kind === 'func')[index] as { typeIndex: number }).typeIndex
      : m.functions[index - importedFunctions];
    return typeIndex === undefined ? undefined : m.types[typeIndex];
  };
  let runFound = false;
  for (const e of m.exports) {
    if (e.kind === 'global') {
      problems.push(`the module exports global ${e.index} as "${e.name}"; rule state must not be exported`);
    } else if (e.name !== RUN_EXPORT) {
      problems.push(`the module exports ${e.kind} "${e.name}"; the only export of a rule is the function "run"`);
    } else if (e.kind !== 'func') {
      problems.push(`the export "run" is a ${e.kind}; it must be a function`);
    } else {
      runFound = true;
      const type = functionType(e.index);
      if (!type) {
        problems.push(`the export "run" refers to function ${e.index}, which does not exist`);
      } else if (!sameType(type, RUN_TYPE)) {
        problems.push(`the function "run" has type ${describeFuncType(type)}; the device ABI requires ${describeFuncType(RUN_TYPE)}`);
      } else if (e.index < importedFunctions) {
        problems.push('the export "run" re-exports an imported function; it must be defined by the rule');
      }
    }
  }
  if (!runFound && !m.exports.some((e) => e.name === RUN_EXPORT)) {
    problems.push('the module does not export the function "run"');
  }
}

function checkShape(m: WasmModule, manifest: Manifest, target: TargetProfile, problems: string[]): void {
  if (m.memories.length > 0 || m.imports.some((imp) => imp.kind === 'memory')) {
    problems.push('the module declares a linear memory; rules must not have one');
  }
  if (m.tables.length > 0 || m.imports.some((imp) => imp.kind === 'table')) {
    problems.push('the module declares a table; rules must not have one');
  }
  if (m.sections.some((s) => s.id === 11) || m.dataSegmentCount > 0 || m.dataCount !== undefined) {
    problems.push('the module has data segments; rules must not have any');
  }
  if (m.sections.some((s) => s.id === 9) || m.elementSegmentCount > 0) {
    problems.push('the module has element segments; rules must not have any');
  }
  if (m.start !== undefined) {
    problems.push(`the module has a start function (function ${m.start}); rules must not run code when they are loaded`);
  }
  for (const custom of m.customSections) {
    problems.push(`the module has a custom section "${custom.name}" (${custom.size} bytes); release artifacts carry none`);
  }
  for (const imp of m.imports) {
    if (imp.kind === 'global') problems.push(`the module imports global "${imp.module}.${imp.name}"; rule state must be its own`);
  }
  for (const g of m.globals) {
    if (!g.mutable) {
      problems.push(`global ${g.index} is immutable; rule state must be mutable i32 or f32 globals`);
    } else if (g.type !== 'i32' && g.type !== 'f32') {
      problems.push(`global ${g.index} has type ${g.type}; rule state must be mutable i32 or f32 globals`);
    }
  }
  if (m.globals.length > target.maxStateSlots) {
    problems.push(`the module has ${m.globals.length} state globals; target "${target.name}" allows at most ${target.maxStateSlots}`);
  }
  if (Number.isInteger(manifest.stateSlots) && manifest.stateSlots !== m.globals.length) {
    problems.push(`the module has ${m.globals.length} state globals but the manifest says stateSlots ${manifest.stateSlots}`);
  }
}

/**
 * The module verifier (§4.5): typing within the ABI's subset, counted loops only, and the worst-case instructions
 * per tick within the manifest's claim and the target's limit. wasm3 cannot meter a tick, so this is what makes a
 * rule return.
 */
function checkVerified(bytes: Uint8Array, manifest: Manifest, target: TargetProfile, problems: string[]): boolean {
  const claim = manifest.maxInstructionsPerTick;
  if (!Number.isInteger(claim) || claim < 0) {
    problems.push(`the manifest's maxInstructionsPerTick must be a non-negative integer, not ${JSON.stringify(claim)}`);
    return false;
  }
  const verdict = verifyModule(bytes, { claim, targetLimit: target.maxInstructionsPerTick, floatingPoint: target.floatingPoint });
  if (verdict.ok) return true;
  problems.push(`the verifier refuses the module (${verdict.refusal.code}): ${verdict.refusal.message}`);
  return false;
}

/** A second opinion on typing from V8's validator, after the verifier's (wasm3 assumes valid input). */
function checkWellTyped(bytes: Uint8Array, problems: string[]): void {
  try {
    new WebAssembly.Module(new Uint8Array(bytes));
  } catch (e) {
    const reason = e instanceof Error ? e.message.replace(/^WebAssembly\.Module\(\): /, '') : String(e);
    problems.push(`the module is not valid WebAssembly: ${reason}`);
  }
}

/** Every reason the artifact may not be installed on this target; empty when it may. */
export function validateArtifact(bytes: Uint8Array, manifest: Manifest, target: TargetProfile): string[] {
  const problems: string[] = [];
  if (bytes.length > target.maxArtifactBytes) {
    problems.push(`the artifact is ${bytes.length} bytes; target "${target.name}" allows at most ${target.maxArtifactBytes}`);
  }
  if (bytes.length !== manifest.size) {
    problems.push(`the artifact is ${bytes.length} bytes but the manifest says ${manifest.size}`);
  }
  const digest = sha256Hex(bytes);
  if (typeof manifest.sha256 !== 'string' || digest !== manifest.sha256.toLowerCase()) {
    problems.push(`the artifact's SHA-256 is ${digest} but the manifest says ${manifest.sha256}`);
  }
  checkManifestAgainstTarget(manifest, target, problems);

  const parsed = parseWasmModule(bytes);
  if (!parsed.ok) {
    problems.push(`the artifact is not a readable WebAssembly module: ${parsed.error}`);
    return problems;
  }
  const m = parsed.module;
  const before = problems.length;
  problems.push(...mvpProblems(m));
  checkShape(m, manifest, target, problems);
  checkImports(m, manifest, problems);
  checkExports(m, problems);
  // The verifier checks the module's shape again, from the bytes alone; the checks above already said what is
  // wrong with it, against the manifest too, so the verifier speaks only about what they do not cover.
  if (problems.length === before && checkVerified(bytes, manifest, target, problems)) checkWellTyped(bytes, problems);
  return problems;
}
