// The workload layer's interface for the harness: read a workload (our JSON or a YCSB property
// file), then draw each client's operations from it. The subtle thing lives in
// operation-stream.ts: run-phase clients share one KeySpace, and every insert must be
// acknowledged on it once answered, or reads never reach the new keys.

export { loadWorkload, parseWorkload, WorkloadError } from './parse.js';
export { loadYcsbProperties, parseYcsbProperties, type YcsbMapping } from './ycsb-properties.js';
export {
  OPERATION_TYPES,
  VALUE_CONTENTS,
  workloadSchema,
  type KeyDistribution,
  type KeyOrder,
  type OperationType,
  type RunSettings,
  type ValueContent,
  type Workload,
  type WorkloadFile,
} from './schema.js';
export type { IntegerDistribution } from './integer-distribution.js';
export { KeySpace, INSERTS_IN_FLIGHT_MAX } from './key-space.js';
export { createKeySpace, LoadStream, OperationStream, type InsertOperation, type Operation } from './operation-stream.js';
export { KeyEncoder } from './keys.js';
