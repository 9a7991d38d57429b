// A run whose names attack the HTML report: a profile named to close the page's script and run
// its own, a workload named to become an image with an error handler. Both profiles are otherwise
// ordinary (two runs each, the second unsafe), so every chart has something to draw.

import type { RunFile } from '../../../src/bench/results/schema.js';
import { ladder, makeCell, makeRun, UNSAFE_REASON } from './run-fixture.js';

export const HOSTILE_PROFILE = '</script><script>window.__raftbenchPwned = 1</script>';
export const HOSTILE_WORKLOAD = '<img src=x onerror="window.__raftbenchPwned = 2">';

export function hostileRun(): RunFile {
  return makeRun(
    [0, 1].flatMap((r) => [
      makeCell({ profile: 'baseline', workload: HOSTILE_WORKLOAD, repetition: r, types: { get: { valuesUs: ladder(300, 20, r), countEach: 50 } } }),
      makeCell({ profile: HOSTILE_PROFILE, workload: HOSTILE_WORKLOAD, repetition: r, types: { get: { valuesUs: ladder(150, 20, r), countEach: 90 } }, unsafeReasons: [UNSAFE_REASON], description: '<i>described</i> & "quoted"' }),
    ]),
    {},
    `raftbench run --profiles '${HOSTILE_PROFILE}'`,
  );
}
