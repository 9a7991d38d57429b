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
// Content is written into one reusable scratch buffer, whole words and record fragments at a
// time as pre-encoded little-endian 32-bit words through a DataView (running past the value's end
// into the scratch's slack instead of checking the end on every byte), and the value is one
// `slice` of the scratch: one allocation and one memcpy per value. A word is found from its
// cumulative weight through a guide table (Chen and Asau's indexed search), which returns exactly
// what a binary search over the cumulative weights would. The output is byte for byte what
// src/bench/micro/values.ts produced (a test pins that), so the micro-benchmarks can import this
// module without their results shifting. Writing whole records also means a JSON record always
// makes all of its draws, even when the value ends inside it, so a value's length never changes
// the draws of the next value.

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

// Every fragment of output (a word with its space, a name, a piece of JSON syntax) is a number
// indexing the packed tables below. (An array of small Uint8Arrays copied with TypedArray.set, or
// byte by byte, measured two to three times slower.)
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

/** Longest fragment, in bytes; fragments are stored as FRAGMENT_WORDS little-endian 32-bit words each. */
const FRAGMENT_BYTES_MAX = 24;
const FRAGMENT_WORDS = FRAGMENT_BYTES_MAX / 4;
/** Fragment f is FRAGMENT_LENGTHS[f] bytes, stored in FRAGMENT_DATA[f·FRAGMENT_WORDS …] zero-padded. */
const FRAGMENT_LENGTHS = new Uint8Array(fragmentTexts.length);
const FRAGMENT_DATA: Uint32Array = (() => {
  const data = new Uint32Array(fragmentTexts.length * FRAGMENT_WORDS);
  const bytes = new Uint8Array(data.buffer);
  fragmentTexts.forEach((text, index) => {
    if (text.length > FRAGMENT_BYTES_MAX) throw new Error(`fragment "${text}" is longer than ${FRAGMENT_BYTES_MAX} bytes`);
    FRAGMENT_LENGTHS[index] = text.length;
    for (let i = 0; i < text.length; i++) bytes[index * FRAGMENT_BYTES_MAX + i] = text.charCodeAt(i);
  });
  // The DataView writes below are little-endian; read the words back that way on any machine.
  const view = new DataView(data.buffer);
  for (let i = 0; i < data.length; i++) data[i] = view.getUint32(i * 4, true);
  return data;
})();

/** Slack past a value's end in the scratch: one whole JSON record (well under 256 bytes) or fragment. */
const SCRATCH_SLACK_BYTES = 512;
let scratch = new Uint8Array(64 * 1024 + SCRATCH_SLACK_BYTES);
let scratchView = new DataView(scratch.buffer);

/** The scratch, grown to hold `sizeBytes` plus the slack. */
function scratchFor(sizeBytes: number): DataView {
  if (scratch.byteLength < sizeBytes + SCRATCH_SLACK_BYTES) {
    scratch = new Uint8Array(Math.max(sizeBytes + SCRATCH_SLACK_BYTES, scratch.byteLength * 2));
    scratchView = new DataView(scratch.buffer);
  }
  return scratchView;
}

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

/** Writes fragment `fragment` at `offset` (possibly past the value's end, into the slack); returns the new offset. */
function put(view: DataView, offset: number, fragment: number): number {
  const length = FRAGMENT_LENGTHS[fragment]!;
  const word = fragment * FRAGMENT_WORDS;
  // Unrolled by 8 bytes: most words and fragments take one step; this measured ~1.5× faster
  // than a loop over the 32-bit words.
  view.setUint32(offset, FRAGMENT_DATA[word]!, true);
  view.setUint32(offset + 4, FRAGMENT_DATA[word + 1]!, true);
  if (length > 8) {
    view.setUint32(offset + 8, FRAGMENT_DATA[word + 2]!, true);
    view.setUint32(offset + 12, FRAGMENT_DATA[word + 3]!, true);
    if (length > 16) {
      view.setUint32(offset + 16, FRAGMENT_DATA[word + 4]!, true);
      view.setUint32(offset + 20, FRAGMENT_DATA[word + 5]!, true);
    }
  }
  return offset + length;
}

/** Writes a non-negative safe integer in decimal at `offset`; returns the new offset. */
function putInteger(view: DataView, offset: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = value;
  for (let at = offset + digits - 1; at >= offset; at--) {
    const quotient = Math.floor(rest / 10);
    view.setUint8(at, ZERO + (rest - quotient * 10));
    rest = quotient;
  }
  return offset + digits;
}

function fillRandom(prng: Prng, view: DataView, sizeBytes: number): void {
  // A whole word for the tail too: the bytes past the end are cut off by the slice.
  for (let i = 0; i < sizeBytes; i += 4) view.setUint32(i, prng.nextUint32(), true);
}

function fillText(prng: Prng, view: DataView, sizeBytes: number, zipf: boolean): void {
  let offset = 0;
  // Bounded: every word advances offset by at least 2 bytes (word + space).
  while (offset < sizeBytes) {
    const word = zipf ? zipfWordIndex(prng.nextFloat()) : prng.nextInt(0, WORDS_SPACED.length);
    offset = put(view, offset, WORDS_SPACED[word]!);
  }
}

function pickIndex(prng: Prng, count: number): number {
  return prng.nextInt(0, count);
}

/** One JSON record at `offset`; returns the new offset. Draw order is the record's field order. */
function putJsonRecord(prng: Prng, view: DataView, offset: number): number {
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

  let at = put(view, offset, JSON_ID);
  at = putInteger(view, at, id);
  at = put(view, at, JSON_NAME);
  at = put(view, at, FIRST_NAME_FRAGMENTS[nameFirst]!);
  view.setUint8(at++, SPACE);
  at = put(view, at, WORDS[nameWord]!);
  at = put(view, at, JSON_EMAIL);
  at = put(view, at, FIRST_NAME_FRAGMENTS[emailFirst]!);
  at = putInteger(view, at, emailNumber);
  at = put(view, at, JSON_AGE);
  at = putInteger(view, at, age);
  at = put(view, at, JSON_CITY);
  at = put(view, at, CITY_FRAGMENTS[city]!);
  at = put(view, at, JSON_ACTIVE);
  at = put(view, at, active ? TRUE : FALSE);
  at = put(view, at, JSON_SCORE);
  at = putInteger(view, at, Math.floor(scoreHundredths / 100));
  view.setUint8(at++, DOT);
  view.setUint8(at++, ZERO + Math.floor((scoreHundredths % 100) / 10));
  view.setUint8(at++, ZERO + (scoreHundredths % 10));
  at = put(view, at, JSON_TAGS);
  if (tagCount > 0) at = put(view, at, TAG_FRAGMENTS[tag0]!);
  if (tagCount > 1) {
    view.setUint8(at++, COMMA);
    at = put(view, at, TAG_FRAGMENTS[tag1]!);
  }
  if (tagCount > 2) {
    view.setUint8(at++, COMMA);
    at = put(view, at, TAG_FRAGMENTS[tag2]!);
  }
  return put(view, at, JSON_END);
}

function fillJson(prng: Prng, view: DataView, sizeBytes: number): void {
  let offset = 0;
  // Bounded: every record is at least 100 bytes long.
  while (offset < sizeBytes) offset = putJsonRecord(prng, view, offset);
}

/** A value of exactly `sizeBytes` bytes of the given kind, drawn from `prng`. */
export function generateValue(kind: ValueKind, prng: Prng, sizeBytes: number): Uint8Array {
  const view = scratchFor(sizeBytes);
  switch (kind) {
    case 'random':
      fillRandom(prng, view, sizeBytes);
      break;
    case 'text':
      fillText(prng, view, sizeBytes, true);
      break;
    case 'text-uniform':
      fillText(prng, view, sizeBytes, false);
      break;
    case 'json':
      fillJson(prng, view, sizeBytes);
      break;
  }
  return scratch.slice(0, sizeBytes);
}

/** `count` values of `sizeBytes` each. */
export function generateValues(kind: ValueKind, prng: Prng, count: number, sizeBytes: number): Uint8Array[] {
  return Array.from({ length: count }, () => generateValue(kind, prng, sizeBytes));
}
