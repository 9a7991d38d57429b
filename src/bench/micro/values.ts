// Value generators for benchmarks and workloads: three kinds of bytes whose compressibility
// brackets what a KV store sees, all deterministic from a seeded Prng (src/raft/prng.ts), so the
// same seed gives the same bytes on every machine.
//
//   random  uniformly random bytes — incompressible; the codecs' worst case
//   text    words drawn from a fixed dictionary, space separated — like YCSB-style fields of text.
//           Words are drawn with Zipf (s = 1) frequencies over the dictionary, which is listed
//           roughly most-common first: natural-language word frequencies follow Zipf's law, so
//           this is what text looks like. ('text-uniform', uniform draws from the same
//           dictionary, is offered to show how much the ratio depends on that choice.)
//   json    small JSON records with repeated field names and varied values — like document values

import type { Prng } from '../../random/prng.js';

export type ValueKind = 'random' | 'text' | 'json' | 'text-uniform';
/** The three kinds benchmarks report by default. */
export const VALUE_KINDS: readonly ValueKind[] = ['random', 'text', 'json'];

// A fixed dictionary (so output does not depend on the machine's word list).
const DICTIONARY: readonly string[] = (
  'the of and to in is was for that with as on by at from his her which are this be or an had not but ' +
  'they have one were all their there been has when who will more no if out so what up its about into ' +
  'than them can only other new some could time these two may then do first any my now such like our ' +
  'over man me even most made after also did many before must through back years where much your way ' +
  'well down should because each just those people how too little state good very make world still own ' +
  'see men work long get here between both life being under never day same another know while last might ' +
  'us great old year off come since against go came right used take three himself few house use during ' +
  'without again place around however home small found thought went say part once general high upon school ' +
  'every does got united left number course war until always away something fact though water less public ' +
  'put think almost hand enough far took head yet government system better set told nothing night end why ' +
  'called eyes find going look asked later knew point next program city business give group toward young ' +
  'let room side social present given several order national second possible rather per face among form ' +
  'important often things looked early white case large need big four within felt children along saw best ' +
  'church ever least power development light thing seemed family interest want members mind country area ' +
  'replica leader follower commit term index snapshot entry quorum election heartbeat partition latency'
).split(' ');

/** Cumulative Zipf (s = 1) weights over DICTIONARY, normalised to end at 1. */
const ZIPF_CUMULATIVE: readonly number[] = (() => {
  const weights = DICTIONARY.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let running = 0;
  return weights.map((weight) => (running += weight / total));
})();

function zipfWord(prng: Prng): string {
  const draw = prng.nextFloat();
  let low = 0;
  let high = ZIPF_CUMULATIVE.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ZIPF_CUMULATIVE[middle]! < draw) low = middle + 1;
    else high = middle;
  }
  return DICTIONARY[low]!;
}

const FIRST_NAMES = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'leslie', 'tony', 'donald', 'frances', 'ken', 'dennis', 'radia'];
const CITIES = ['lisbon', 'osaka', 'nairobi', 'quito', 'tallinn', 'perth', 'montreal', 'dakar', 'hanoi', 'bergen'];
const TAGS = ['new', 'vip', 'trial', 'churned', 'beta', 'mobile', 'desktop', 'eu', 'us', 'apac'];

function fillRandom(prng: Prng, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.byteLength; i += 4) {
    const word = prng.nextUint32();
    for (let j = 0; j < 4 && i + j < bytes.byteLength; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
  }
}

/** Writes ASCII `text` into `bytes` from `offset`, returning the new offset (truncates at the end). */
function put(bytes: Uint8Array, offset: number, text: string): number {
  let at = offset;
  for (let i = 0; i < text.length && at < bytes.byteLength; i++) bytes[at++] = text.charCodeAt(i);
  return at;
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.nextInt(0, items.length)]!;
}

function jsonRecord(prng: Prng): string {
  const tagCount = prng.nextInt(0, 4);
  const tags: string[] = [];
  for (let i = 0; i < tagCount; i++) tags.push(`"${pick(prng, TAGS)}"`);
  return (
    `{"id":${prng.nextInt(1, 10_000_000)},"name":"${pick(prng, FIRST_NAMES)} ${pick(prng, DICTIONARY)}",` +
    `"email":"${pick(prng, FIRST_NAMES)}${prng.nextInt(1, 1000)}@example.com","age":${prng.nextInt(18, 90)},` +
    `"city":"${pick(prng, CITIES)}","active":${prng.chance(0.5)},"score":${(prng.nextInt(0, 100_000) / 100).toFixed(2)},` +
    `"tags":[${tags.join(',')}]}`
  );
}

/** A value of exactly `sizeBytes` bytes of the given kind, drawn from `prng`. */
export function generateValue(kind: ValueKind, prng: Prng, sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  switch (kind) {
    case 'random':
      fillRandom(prng, bytes);
      return bytes;
    case 'text':
    case 'text-uniform': {
      let offset = 0;
      // Bounded: every word advances offset by at least 2 bytes (word + space).
      while (offset < sizeBytes) offset = put(bytes, offset, `${kind === 'text' ? zipfWord(prng) : pick(prng, DICTIONARY)} `);
      return bytes;
    }
    case 'json': {
      let offset = 0;
      while (offset < sizeBytes) offset = put(bytes, offset, `${jsonRecord(prng)}\n`);
      return bytes;
    }
  }
}

/** `count` values of `sizeBytes` each. */
export function generateValues(kind: ValueKind, prng: Prng, count: number, sizeBytes: number): Uint8Array[] {
  return Array.from({ length: count }, () => generateValue(kind, prng, sizeBytes));
}
