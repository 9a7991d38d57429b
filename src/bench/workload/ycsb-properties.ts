// YCSB property files (workloads/workloada … workloadf in the YCSB repository, Java properties
// syntax, read with dot-properties) mapped to our Workload. Property names and defaults are
// YCSB's CoreWorkload and Client ones; a record's fieldcount fields of fieldlength bytes become
// one value of fieldcount × fieldlength bytes, since this store has values, not fields.
//
// The subtle thing: nothing is dropped silently. A property this mapper does not know, or one it
// maps only approximately (per-field length distributions summed into one value, updates that
// write one field in YCSB but a whole value here, a throttled closed loop turned into an open
// loop …), comes back as a warning; a property whose value cannot be honoured at all (an
// unsupported request distribution, a histogram file) is an error. Properties about measurement,
// output and the database binding have no meaning here and are ignored without a word.

import { readFileSync } from 'node:fs';
import { parse as parseProperties } from 'dot-properties';
import { defaultName, parseWorkload, WorkloadError } from './parse.js';
import type { Workload, WorkloadFile } from './schema.js';

export interface YcsbMapping {
  readonly workload: Workload;
  /** One line per property ignored or mapped approximately, each starting with the source name. */
  readonly warnings: readonly string[];
}

/** Reads the YCSB property file at `path` and maps it to a workload. */
export function loadYcsbProperties(path: string): YcsbMapping {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WorkloadError([`${path}: cannot read: ${(error as Error).message}`]);
  }
  return parseYcsbProperties(text, path);
}

/** Properties that concern measurement, output or the database binding: no meaning here. */
const NO_EFFECT = new Set([
  'db',
  'table',
  'fieldnameprefix',
  'readallfieldsbyname',
  'exporter',
  'exportfile',
  'measurementtype',
  'measurement.interval',
  'measurement.raw.output_file',
  'measurement.trackjvm',
  'histogram.buckets',
  'hdrhistogram.fileoutput',
  'hdrhistogram.output.path',
  'hdrhistogram.percentiles',
  'timeseries.granularity',
  'status.interval',
  'reportlatencyforeacherror',
  'latencytrackederrors',
  'core_workload_insertion_retry_limit',
  'core_workload_insertion_retry_interval',
]);

const CORE_WORKLOAD_CLASSES = new Set(['site.ycsb.workloads.CoreWorkload', 'com.yahoo.ycsb.workloads.CoreWorkload']);

/** The YCSB `zipfian` constant (ZipfianGenerator.ZIPFIAN_CONSTANT); CoreWorkload has no property for it. */
const YCSB_ZIPFIAN_THETA = 0.99;
/** Used when the file sets no recordcount (YCSB's own default, 0, means Integer.MAX_VALUE records). */
const RECORD_COUNT_WHEN_UNSET = 100_000;

/** Maps the text of a YCSB property file; `sourceName` names it in messages and gives the workload name. */
export function parseYcsbProperties(text: string, sourceName: string): YcsbMapping {
  const properties = new Map(Object.entries(parseProperties(text) as Record<string, string>).map(([key, value]) => [key, value.trim()]));
  const used = new Set<string>();
  const warnings: string[] = [];
  const errors: string[] = [];
  const warn = (message: string): void => void warnings.push(`${sourceName}: ${message}`);
  const fail = (message: string): void => void errors.push(`${sourceName}: ${message}`);

  const raw = (name: string): string | undefined => {
    used.add(name);
    return properties.get(name);
  };
  const number = (name: string, fallback: number, check: (value: number) => boolean, rule: string): number => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || !check(value)) {
      fail(`${name}: must be ${rule}, got "${text}"`);
      return fallback;
    }
    return value;
  };
  const integer = (name: string, fallback: number, min: number): number =>
    number(name, fallback, (value) => Number.isSafeInteger(value) && value >= min, `an integer >= ${min}`);
  const proportion = (name: string, fallback: number): number =>
    number(name, fallback, (value) => value >= 0 && value <= 1, 'a number in [0, 1]');
  const choice = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const text = raw(name);
    if (text === undefined) return fallback;
    if ((allowed as readonly string[]).includes(text)) return text as T;
    fail(`${name}: must be one of ${allowed.join(', ')} here, got "${text}"`);
    return fallback;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const text = raw(name);
    // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
    return text === undefined ? fallback : text.toLowerCase() === 'true';
  };

  const workloadClass = raw('workload');
  if (workloadClass !== undefined && !CORE_WORKLOAD_CLASSES.has(workloadClass)) {
    fail(`workload: only YCSB's CoreWorkload is understood, got "${workloadClass}"`);
  }

  // Records and keys.
  let recordCount = integer('recordcount', 0, 0);
  if (recordCount === 0) {
    warn(`recordcount is not set (or 0, which YCSB reads as 2^31 − 1): using ${RECORD_COUNT_WHEN_UNSET}`);
    recordCount = RECORD_COUNT_WHEN_UNSET;
  }
  const insertStart = integer('insertstart', 0, 0);
  const insertCount = integer('insertcount', recordCount - insertStart, 0);
  if (insertStart !== 0 || insertCount !== recordCount) {
    warn(`insertstart=${insertStart} / insertcount=${insertCount}: loading one slice of the records per YCSB instance is not supported; every record is loaded`);
  }
  const order = choice('insertorder', 'hashed', ['hashed', 'ordered'] as const);
  const zeroPadding = integer('zeropadding', 1, 1);
  // YCSB pads to at least zeropadding digits; our keys are fixed width, 19 digits by default.
  const keyBytes = 'user'.length + Math.max(19, zeroPadding);

  // The mix. YCSB's DiscreteGenerator normalises the weights, so they need not sum to 1.
  const weights = {
    read: proportion('readproportion', 0.95),
    update: proportion('updateproportion', 0.05),
    insert: proportion('insertproportion', 0),
    scan: proportion('scanproportion', 0),
    readModifyWrite: proportion('readmodifywriteproportion', 0),
    delete: 0,
  };
  const weightSum = weights.read + weights.update + weights.insert + weights.scan + weights.readModifyWrite;
  let operations = weights;
  if (weightSum === 0) {
    fail('readproportion, updateproportion, insertproportion, scanproportion and readmodifywriteproportion are all 0');
  } else if (Math.abs(weightSum - 1) > 1e-9) {
    warn(`the proportions sum to ${weightSum}; normalised to 1 as YCSB does`);
    operations = {
      read: weights.read / weightSum,
      update: weights.update / weightSum,
      insert: weights.insert / weightSum,
      scan: weights.scan / weightSum,
      readModifyWrite: weights.readModifyWrite / weightSum,
      delete: 0,
    };
  }

  // Request distribution.
  const requestDistribution = raw('requestdistribution') ?? 'uniform';
  let distribution: Workload['keys']['distribution'] = { type: 'uniform' };
  switch (requestDistribution) {
    case 'uniform':
      break;
    case 'zipfian':
      distribution = { type: 'zipfian', theta: YCSB_ZIPFIAN_THETA };
      break;
    case 'latest':
      distribution = { type: 'latest', theta: YCSB_ZIPFIAN_THETA };
      break;
    case 'hotspot':
      distribution = {
        type: 'hotspot',
        hotSetFraction: proportion('hotspotdatafraction', 0.2),
        hotOperationFraction: proportion('hotspotopnfraction', 0.8),
      };
      break;
    default:
      fail(`requestdistribution: must be uniform, zipfian, latest or hotspot here, got "${requestDistribution}"`);
  }
  for (const name of ['hotspotdatafraction', 'hotspotopnfraction']) {
    if (properties.has(name) && distribution.type !== 'hotspot') {
      used.add(name);
      warn(`${name} has no effect: requestdistribution is ${requestDistribution}, not hotspot`);
    }
  }

  // Scans.
  const scanLengthMin = integer('minscanlength', 1, 1);
  const scanLengthMax = integer('maxscanlength', 1000, 1);
  const scanLengthType = choice('scanlengthdistribution', 'uniform', ['uniform', 'zipfian'] as const);
  const scanLength =
    scanLengthType === 'uniform'
      ? { type: 'uniform' as const, min: scanLengthMin, max: scanLengthMax }
      : { type: 'zipfian' as const, min: scanLengthMin, max: scanLengthMax, theta: YCSB_ZIPFIAN_THETA };

  // Values: fieldcount fields of fieldlength bytes, as one value.
  const fieldCount = integer('fieldcount', 10, 1);
  const fieldLength = integer('fieldlength', 100, 1);
  const fieldLengthMin = integer('minfieldlength', 1, 0);
  const fieldLengthType = choice('fieldlengthdistribution', 'constant', ['constant', 'uniform', 'zipfian'] as const);
  raw('fieldlengthhistogram');
  let sizeBytes: NonNullable<NonNullable<WorkloadFile['values']>['sizeBytes']>;
  if (fieldLengthType === 'constant') {
    sizeBytes = fieldCount * fieldLength;
  } else {
    sizeBytes =
      fieldLengthType === 'uniform'
        ? { type: 'uniform', min: fieldCount * fieldLengthMin, max: fieldCount * fieldLength }
        : { type: 'zipfian', min: fieldCount * fieldLengthMin, max: fieldCount * fieldLength, theta: YCSB_ZIPFIAN_THETA };
    if (fieldCount > 1) {
      warn(
        `fieldlengthdistribution=${fieldLengthType} with fieldcount=${fieldCount}: one value of ${fieldLengthType} ` +
          `${fieldCount * fieldLengthMin}..${fieldCount * fieldLength} bytes stands for the sum of ${fieldCount} field lengths, which is not ${fieldLengthType}`,
      );
    }
  }
  const writesAllFields = flag('writeallfields', false);
  if (!writesAllFields && fieldCount > 1 && operations.update + operations.readModifyWrite > 0) {
    warn(
      `writeallfields is false: YCSB's updates write one ${fieldLength}-byte field; here an update writes a whole ` +
        `value of ${fieldCount} × ${fieldLength} bytes`,
    );
  }
  if (!flag('readallfields', true)) warn('readallfields is false: reads here always read the whole value');
  if (flag('dataintegrity', false)) warn('dataintegrity is true: values are not verified here');

  // The run.
  const threadCount = integer('threadcount', 1, 1);
  const operationCount = integer('operationcount', 0, 0);
  const maxExecutionSeconds = integer('maxexecutiontime', 0, 0);
  const targetOpsPerSecond = number('target', 0, (value) => value >= 0, 'a number >= 0');
  const run: NonNullable<WorkloadFile['run']> = { concurrency: threadCount };
  if (operationCount > 0) {
    run.operationCount = operationCount;
    if (maxExecutionSeconds > 0) warn(`maxexecutiontime=${maxExecutionSeconds} ignored: the run ends after operationcount=${operationCount} operations`);
  } else if (maxExecutionSeconds > 0) {
    run.durationSeconds = maxExecutionSeconds;
  } else {
    warn('neither operationcount nor maxexecutiontime is set: the run lasts the default duration');
  }
  if (targetOpsPerSecond > 0) {
    run.mode = 'open';
    run.rateOpsPerSecond = targetOpsPerSecond;
    warn(`target=${targetOpsPerSecond}: YCSB throttles its closed loop to that rate; here it is an open loop at that rate`);
  }
  if (properties.has('dotransactions')) {
    used.add('dotransactions');
    warn('dotransactions ignored: the harness runs the load phase, then the run phase');
  }

  for (const [name, value] of properties) {
    if (!used.has(name) && !NO_EFFECT.has(name)) warn(`unknown property ${name}=${value} ignored`);
  }
  if (errors.length > 0) throw new WorkloadError(errors);

  const file: WorkloadFile = {
    name: defaultName(sourceName),
    description: `YCSB property file ${sourceName}, mapped`,
    operations,
    scanLength,
    keys: { recordCount, prefix: 'user', keyBytes, order, distribution },
    values: { sizeBytes, content: 'random' },
    load: { enabled: true, concurrency: threadCount },
    run,
  };
  return { workload: parseWorkload(file, `${sourceName} (mapped from YCSB properties)`), warnings };
}
