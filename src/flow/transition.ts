/**
 * A transition of a flow: from a state, on an exit code matching `pattern`, to a state.
 * Patterns match the whole exit code; `*` matches any run of characters (also none), `?` exactly
 * one character; an empty pattern is `*`.
 */
export interface Transition {
  readonly from: string;
  readonly pattern: string;
  readonly to: string;
}

export function matchesPattern(pattern: string, exitCode: string): boolean {
  const effective = pattern === '' ? '*' : pattern;
  const regex = new RegExp(`^${effective.split('').map(toRegex).join('')}$`, 's');
  return regex.test(exitCode);
}

function toRegex(char: string): string {
  if (char === '*') return '.*';
  if (char === '?') return '.';
  return char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

const count = (text: string, char: string) => text.split(char).length - 1;

/**
 * Orders transitions most specific first, as Spring Batch does, so the first match wins:
 * patterns without `*` before those with; among those with `*`, more `*` first; then fewer `?`;
 * then, when wildcards are present, longer first; then alphabetical. Spring's documented ranking:
 * `bar > foo > fo? > bar?? > foo?? > ?0? > ??? > *foo* > *f* > foo* > *`.
 */
export function compareSpecificity(a: string, b: string): number {
  if (a === b) return 0;
  const starsA = count(a, '*');
  const starsB = count(b, '*');
  if (starsA === 0 && starsB > 0) return -1;
  if (starsA > 0 && starsB === 0) return 1;
  if (starsA !== starsB) return starsB - starsA;
  const questionsA = count(a, '?');
  const questionsB = count(b, '?');
  if (questionsA !== questionsB) return questionsA - questionsB;
  if (a.length !== b.length && (starsA > 0 || questionsA > 0)) return b.length - a.length;
  return a < b ? -1 : 1;
}
