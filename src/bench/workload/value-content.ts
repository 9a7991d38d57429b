// The bytes inside values: three kinds whose compressibility brackets what a KV store sees, all
// drawn from a seeded Prng so one seed gives the same bytes on every machine.
//
//   random  uniformly random bytes: incompressible, the codecs' worst case
//   text    words from a fixed dictionary, space separated, drawn with Zipf (s = 1) frequencies
//           over the dictionary (listed roughly most common first): natural-language word
//           frequencies follow Zipf's law, so this is what text looks like
//   json    small JSON records with repeated field names and varied values, newline separated
//   text-uniform  the same dictionary drawn uniformly, to show how much the text ratio depends
//           on the word frequencies (the micro-benchmarks report it; workloads do not offer it)
//
// The subtle thing: this is the hot path of the load generator, so nothing here builds strings.
// Words and record fragments are pre-encoded bytes copied into the value, numbers are written
// digit by digit, and a word is found from its cumulative weight through a guide table (Chen and
// Asau's indexed search), which returns exactly what a binary search over the cumulative weights
// would. The output is byte for byte what src/bench/micro/values.ts produced (a test pins that),
// so the micro-benchmarks can import this module without their results shifting. Each JSON record
// makes all of its draws before writing, even when the value is cut short inside it, so that a
// value's length never changes the draws of the next value.

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

const FIRST_NAMES = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'leslie', 'tony', 'donald', 'frances', 'ken', 'dennis', 'radia'];
const CITIES = ['lisbon', 'osaka', 'nairobi', 'quito', 'tallinn', 'perth', 'montreal', 'dakar', 'hanoi', 'bergen'];
const TAGS = ['new', 'vip', 'trial', 'churned', 'beta', 'mobile', 'desktop', 'eu', 'us', 'apac'];

// Every fragment of output lives in one packed byte array; a fragment is its index into
// FRAGMENT_STARTS, and copying it is a byte loop over that one array. (An array of small
// Uint8Arrays, or TypedArray.set on a few bytes, measured about three times slower.)
const fragmentTexts: string[] = [];
function fragment(text: string): number {
  fragmentTexts.push(text);
  return fragmentTexts.length - 1;
}
/** Fragment numbers of the words, each followed by its separating space, so one copy writes both. */
const WORDS_SPACED: readonly number[] = DICTIONARY.map((word) => fragment(`${word} `));
const WORDS: readonly number[] = DICTIONARY.map(fragment);
const FIRST_NAME_FRAGMENTS: readonly number[] = FIRST_NAMES.map(fragment);
const CITY_FRAGMENTS: readonly number[] = CITIES.map(fragment);
/** Tags with their quotes: `"vip"`. */
const TAG_FRAGMENTS: readonly number[] = TAGS.map((tag) => fragment(`"${tag}"`));
const JSON_ID = fragment('{"id":');
const JSON_NAME = fragment(',"name":"');
const JSON_EMAIL = fragment('","email":"');
const JSON_AGE = fragment('@example.com","age":');
const JSON_CITY = fragment(',"city":"');
const JSON_ACTIVE = fragment('","active":');
const JSON_SCORE = fragment(',"score":');
const JSON_TAGS = fragment(',"tags":[');
const JSON_END = fragment(']}\n');
const TRUE = fragment('true');
const FALSE = fragment('false');

const FRAGMENT_STARTS: Uint32Array = new Uint32Array(fragmentTexts.length + 1);
const FRAGMENT_BYTES: Uint8Array = (() => {
  const total = fragmentTexts.reduce((sum, text) => sum + text.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  fragmentTexts.forEach((text, index) => {
    FRAGMENT_STARTS[index] = offset;
    for (let i = 0; i < text.length; i++) bytes[offset++] = text.charCodeAt(i);
  });
  FRAGMENT_STARTS[fragmentTexts.length] = offset;
  return bytes;
})();

const SPACE = 0x20;
const COMMA = 0x2c;
const DOT = 0x2e;
const ZERO = 0x30;

/** Cumulative Zipf (s = 1) weights over DICTIONARY, normalised to end at 1. */
const ZIPF_CUMULATIVE: Float64Array = (() => {
  const weights = DICTIONARY.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const cumulative = new Float64Array(weights.length);
  let running = 0;
  weights.forEach((weight, i) => (cumulative[i] = running += weight / total));
  return cumulative;
})();

// Guide table: GUIDE[j] is the first index whose cumulative weight reaches j / GUIDE_SIZE, so the
// smallest index with cumulative ≥ u is found by a short forward scan from GUIDE[⌊u·GUIDE_SIZE⌋].
const GUIDE_SIZE = 1024;
const GUIDE: Uint16Array = (() => {
  const guide = new Uint16Array(GUIDE_SIZE);
  let index = 0;
  for (let j = 0; j < GUIDE_SIZE; j++) {
    while (index < ZIPF_CUMULATIVE.length - 1 && ZIPF_CUMULATIVE[index]! < j / GUIDE_SIZE) index++;
    guide[j] = index;
  }
  return guide;
})();

/** The Zipf-distributed word index for a uniform draw in [0, 1): the smallest i with cumulative[i] ≥ draw. */
function zipfWordIndex(draw: number): number {
  let index = GUIDE[Math.floor(draw * GUIDE_SIZE)]!;
  const last = ZIPF_CUMULATIVE.length - 1;
  while (index < last && ZIPF_CUMULATIVE[index]! < draw) index++;
  return index;
}

/** Copies fragment number `fragmentIndex` into `bytes` from `offset`, cut at the end; returns the new offset. */
function put(bytes: Uint8Array, offset: number, fragmentIndex: number): number {
  const length = bytes.byteLength;
  const end = FRAGMENT_STARTS[fragmentIndex + 1]!;
  let at = offset;
  for (let i = FRAGMENT_STARTS[fragmentIndex]!; i < end && at < length; i++) bytes[at++] = FRAGMENT_BYTES[i]!;
  return at;
}

function putByte(bytes: Uint8Array, offset: number, byte: number): number {
  if (offset >= bytes.byteLength) return offset;
  bytes[offset] = byte;
  return offset + 1;
}

/** Writes a non-negative safe integer in decimal, cut at the end; returns the new offset. */
function putInteger(bytes: Uint8Array, offset: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let at = offset + digits - 1;
  for (let rest = value, i = 0; i < digits; i++, at--) {
    if (at < bytes.byteLength) bytes[at] = ZERO + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return Math.min(offset + digits, bytes.byteLength);
}

function fillRandom(prng: Prng, bytes: Uint8Array): void {
  const length = bytes.byteLength;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const word = prng.nextUint32();
    bytes[i] = word & 0xff;
    bytes[i + 1] = (word >>> 8) & 0xff;
    bytes[i + 2] = (word >>> 16) & 0xff;
    bytes[i + 3] = word >>> 24;
  }
  if (i < length) {
    const word = prng.nextUint32();
    for (let j = 0; i + j < length; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
  }
}

function fillText(prng: Prng, bytes: Uint8Array, zipf: boolean): void {
  const length = bytes.byteLength;
  let offset = 0;
  // Bounded: every word advances offset by at least 2 bytes (word + space) until the end.
  while (offset < length) {
    const fragmentIndex = WORDS_SPACED[zipf ? zipfWordIndex(prng.nextFloat()) : prng.nextInt(0, WORDS_SPACED.length)]!;
    const end = FRAGMENT_STARTS[fragmentIndex + 1]!;
    for (let i = FRAGMENT_STARTS[fragmentIndex]!; i < end && offset < length; i++) bytes[offset++] = FRAGMENT_BYTES[i]!;
  }
}

function pickIndex(prng: Prng, count: number): number {
  return prng.nextInt(0, count);
}

/** One JSON record; returns the new offset. Draw order is the record's field order (see header). */
function putJsonRecord(prng: Prng, bytes: Uint8Array, offset: number): number {
  const tagCount = prng.nextInt(0, 4);
  const tag0 = tagCount > 0 ? pickIndex(prng, TAG_FRAGMENTS.length) : 0;
  const tag1 = tagCount > 1 ? pickIndex(prng, TAG_FRAGMENTS.length) : 0;
  const tag2 = tagCount > 2 ? pickIndex(prng, TAG_FRAGMENTS.length) : 0;
  const id = prng.nextInt(1, 10_000_000);
  const nameFirst = pickIndex(prng, FIRST_NAME_FRAGMENTS.length);
  const nameWord = pickIndex(prng, WORDS.length);
  const emailFirst = pickIndex(prng, FIRST_NAME_FRAGMENTS.length);
  const emailNumber = prng.nextInt(1, 1000);
  const age = prng.nextInt(18, 90);
  const city = pickIndex(prng, CITY_FRAGMENTS.length);
  const active = prng.chance(0.5);
  // A score of n hundredths: (n / 100).toFixed(2) is exactly ⌊n/100⌋ "." two digits of n.
  const scoreHundredths = prng.nextInt(0, 100_000);

  let at = put(bytes, offset, JSON_ID);
  at = putInteger(bytes, at, id);
  at = put(bytes, at, JSON_NAME);
  at = put(bytes, at, FIRST_NAME_FRAGMENTS[nameFirst]!);
  at = putByte(bytes, at, SPACE);
  at = put(bytes, at, WORDS[nameWord]!);
  at = put(bytes, at, JSON_EMAIL);
  at = put(bytes, at, FIRST_NAME_FRAGMENTS[emailFirst]!);
  at = putInteger(bytes, at, emailNumber);
  at = put(bytes, at, JSON_AGE);
  at = putInteger(bytes, at, age);
  at = put(bytes, at, JSON_CITY);
  at = put(bytes, at, CITY_FRAGMENTS[city]!);
  at = put(bytes, at, JSON_ACTIVE);
  at = put(bytes, at, active ? TRUE : FALSE);
  at = put(bytes, at, JSON_SCORE);
  at = putInteger(bytes, at, Math.floor(scoreHundredths / 100));
  at = putByte(bytes, at, DOT);
  at = putByte(bytes, at, ZERO + Math.floor((scoreHundredths % 100) / 10));
  at = putByte(bytes, at, ZERO + (scoreHundredths % 10));
  at = put(bytes, at, JSON_TAGS);
  if (tagCount > 0) at = put(bytes, at, TAG_FRAGMENTS[tag0]!);
  if (tagCount > 1) at = put(bytes, putByte(bytes, at, COMMA), TAG_FRAGMENTS[tag1]!);
  if (tagCount > 2) at = put(bytes, putByte(bytes, at, COMMA), TAG_FRAGMENTS[tag2]!);
  return put(bytes, at, JSON_END);
}

function fillJson(prng: Prng, bytes: Uint8Array): void {
  let offset = 0;
  // Bounded: every record is at least 100 bytes long until the end.
  while (offset < bytes.byteLength) offset = putJsonRecord(prng, bytes, offset);
}

/** Fills all of `bytes` with content of the given kind drawn from `prng`. */
export function fillValue(kind: ValueKind, prng: Prng, bytes: Uint8Array): void {
  switch (kind) {
    case 'random':
      return fillRandom(prng, bytes);
    case 'text':
      return fillText(prng, bytes, true);
    case 'text-uniform':
      return fillText(prng, bytes, false);
    case 'json':
      return fillJson(prng, bytes);
  }
}

/** A value of exactly `sizeBytes` bytes of the given kind, drawn from `prng`. */
export function generateValue(kind: ValueKind, prng: Prng, sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  fillValue(kind, prng, bytes);
  return bytes;
}

/** `count` values of `sizeBytes` each. */
export function generateValues(kind: ValueKind, prng: Prng, count: number, sizeBytes: number): Uint8Array[] {
  return Array.from({ length: count }, () => generateValue(kind, prng, sizeBytes));
}
