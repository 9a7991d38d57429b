// Numbers as the text renderers print them: three significant digits (a benchmark's noise is
// rarely below 1 %, so more digits would be noise too), thousands separated, latency in the unit
// that suits the table. CSV does not use this: it carries the raw numbers.
//
// The subtle thing: a table's latency unit is chosen once per table (from its typical value), so a
// column can be read down without the unit changing from row to row.

import type { MetricUnit } from './metrics.js';

/** Three significant digits; integers with thousands separators from 1 000 up. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export type LatencyUnit = 'µs' | 'ms' | 's';

const LATENCY_DIVISOR: Readonly<Record<LatencyUnit, number>> = { µs: 1, ms: 1000, s: 1_000_000 };

/** The unit in which a typical value of `typicalUs` reads best. */
export function latencyUnitFor(typicalUs: number): LatencyUnit {
  if (typicalUs >= 1_000_000) return 's';
  if (typicalUs >= 1000) return 'ms';
  return 'µs';
}

/** A latency in a given unit, without the unit (the table header carries it). */
export function formatLatencyIn(valueUs: number, unit: LatencyUnit): string {
  return formatNumber(valueUs / LATENCY_DIVISOR[unit]);
}

/** A latency with its own unit, e.g. "1.23 ms". */
export function formatLatency(valueUs: number): string {
  const unit = latencyUnitFor(valueUs);
  return `${formatLatencyIn(valueUs, unit)} ${unit}`;
}

export function formatBytes(value: number): string {
  if (Math.abs(value) >= 1024 * 1024 * 1024) return `${formatNumber(value / (1024 * 1024 * 1024))} GiB`;
  if (Math.abs(value) >= 1024 * 1024) return `${formatNumber(value / (1024 * 1024))} MiB`;
  if (Math.abs(value) >= 10 * 1024) return `${formatNumber(value / 1024)} KiB`;
  return `${formatNumber(value)} B`;
}

/** A ratio as hyperfine prints it: 2 decimals below 10, 1 below 100, none above. */
export function ratioDecimals(ratio: number): number {
  const magnitude = Math.abs(ratio);
  return magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
}

export function formatRatio(ratio: number, decimals = ratioDecimals(ratio)): string {
  return ratio.toFixed(decimals);
}

/** A metric's value with its unit where the header does not carry it (latency: the table's unit). */
export function formatMetricValue(value: number, unit: MetricUnit, latencyUnit: LatencyUnit = 'µs'): string {
  switch (unit) {
    case 'us':
      return formatLatencyIn(value, latencyUnit);
    case 'ops/s':
    case 'count/op':
    case 'count':
      return formatNumber(value);
    case 'bytes/op':
      return formatBytes(value);
    case 'percent':
      return `${formatNumber(value)} %`;
    case 'ratio':
      return `${formatNumber(value)}×`;
  }
}

/** The relative spread (MAD / median) as "±1.2 %". */
export function formatSpreadRelative(spreadRelative: number): string {
  return `±${(spreadRelative * 100).toFixed(1)} %`;
}
