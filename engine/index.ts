// The engine's public API: artifact reading and validation, and loading rules on wasm3 or on Node's WebAssembly.
export {
  CapabilityViolation, HOST_CALL_TRAP, InvalidReading, NOT_WRITTEN, RuleBusy, RuleNotRunnable, RuleRejected, RuleTrap, TickBatch, loadRule, loadRuleOn,
  loadRuleOnNode, wasm3Version, type BatchLayout, type BatchOptions, type BatchOutcome, type EngineBackend, type LoadRuleOptions, type LoadedRule, type RuleCounters, type RuleIo, type RuleState,
} from './engine.js';
export { Wasm3Unavailable } from './native-addon.js';
export { validateArtifact } from './validate.js';
export {
  COST_CEILING, VERIFIER_LIMITS, verifyModule, type Refusal, type RefusalCode, type Verdict, type VerifyLimits,
} from '../contract/verify.js';
export { ABI_IMPORTS, RUN_EXPORT, RUN_TYPE, sha256Hex } from '../contract/abi.js';
export {
  describeFuncType, exportAllGlobals, mvpProblems, parseWasmModule,
  type CodeBody, type CustomSection, type Export, type ExternalKind, type FuncType, type Global, type Import,
  type ImportDescription, type InitExpression, type Limits, type ParseResult, type RewriteResult, type SectionInfo,
  type ValueType, type WasmModule,
} from '../contract/wasm-module.js';
