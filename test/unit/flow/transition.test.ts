/**
 * Transition patterns of the flow DSL (reference §4.2): `*` matches any run of characters, `?`
 * exactly one, a blank pattern is `*`, and transitions are tried most specific first.
 */
import { describe, expect, it } from 'vitest';
import { compareSpecificity, matchesPattern } from '../../../src/flow/transition.js';

describe('matchesPattern', () => {
  it('matches a pattern without wildcards only against the identical exit code', () => {
    expect(matchesPattern('COMPLETED', 'COMPLETED')).toBe(true);
    expect(matchesPattern('COMPLETED', 'COMPLETED WITH SKIPS')).toBe(false);
    expect(matchesPattern('COMPLETED', 'NOT COMPLETED')).toBe(false);
    expect(matchesPattern('COMPLETED', 'completed')).toBe(false);
    expect(matchesPattern('FAILED', 'COMPLETED')).toBe(false);
  });

  it('lets * match any run of characters, including none, anywhere in the pattern', () => {
    expect(matchesPattern('*', 'COMPLETED')).toBe(true);
    expect(matchesPattern('*', '')).toBe(true);
    expect(matchesPattern('COMPLETED*', 'COMPLETED')).toBe(true);
    expect(matchesPattern('COMPLETED*', 'COMPLETED WITH SKIPS')).toBe(true);
    expect(matchesPattern('COMPLETED*', 'NOT COMPLETED')).toBe(false);
    expect(matchesPattern('*ED', 'FAILED')).toBe(true);
    expect(matchesPattern('*ED', 'STOPPED')).toBe(true);
    expect(matchesPattern('*ED', 'UNKNOWN')).toBe(false);
    expect(matchesPattern('C*D', 'COMPLETED')).toBe(true);
    expect(matchesPattern('C*D', 'CD')).toBe(true);
    expect(matchesPattern('C*D', 'COMPLETED!')).toBe(false);
    expect(matchesPattern('*PART*', 'COMPLETED_PARTIALLY')).toBe(true);
    expect(matchesPattern('**', 'COMPLETED_PARTIALLY')).toBe(true);
    expect(matchesPattern('**', '')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    expect(matchesPattern('fo?', 'foo')).toBe(true);
    expect(matchesPattern('fo?', 'fo')).toBe(false);
    expect(matchesPattern('fo?', 'fooo')).toBe(false);
    expect(matchesPattern('???', 'abc')).toBe(true);
    expect(matchesPattern('???', 'ab')).toBe(false);
    expect(matchesPattern('???', 'abcd')).toBe(false);
    expect(matchesPattern('?0?', 'a0b')).toBe(true);
    expect(matchesPattern('?0?', 'a1b')).toBe(false);
    expect(matchesPattern('COMPLETED_?ARTIALLY', 'COMPLETED_PARTIALLY')).toBe(true);
    expect(matchesPattern('COMPLETED_?ARTIALLY', 'COMPLETED_ARTIALLY')).toBe(false);
    expect(matchesPattern('?', '')).toBe(false);
  });

  it('combines * and ?', () => {
    expect(matchesPattern('COMPLETED_*ARTIALLY', 'COMPLETED_PARTIALLY')).toBe(true);
    expect(matchesPattern('COMPLETED_*ARTIALLY', 'COMPLETED_ARTIALLY')).toBe(true);
    expect(matchesPattern('?*', '')).toBe(false);
    expect(matchesPattern('?*', 'X')).toBe(true);
    expect(matchesPattern('*?*', 'XY')).toBe(true);
  });

  it('treats a blank pattern as *', () => {
    expect(matchesPattern('', 'COMPLETED')).toBe(true);
    expect(matchesPattern('', 'FAILED')).toBe(true);
    expect(matchesPattern('', '')).toBe(true);
  });

  it('treats regular-expression characters in patterns literally', () => {
    expect(matchesPattern('A.B', 'A.B')).toBe(true);
    expect(matchesPattern('A.B', 'AxB')).toBe(false);
    expect(matchesPattern('A+', 'AA')).toBe(false);
    expect(matchesPattern('A+', 'A+')).toBe(true);
    expect(matchesPattern('(x|y)', '(x|y)')).toBe(true);
    expect(matchesPattern('(x|y)', 'x')).toBe(false);
    expect(matchesPattern('[AB]', 'A')).toBe(false);
    expect(matchesPattern('$^\\', '$^\\')).toBe(true);
    expect(matchesPattern('{1}', '{1}')).toBe(true);
  });

  it('lets * span any character, line breaks included', () => {
    expect(matchesPattern('COMPLETED*', 'COMPLETED\nwith a second line')).toBe(true);
    expect(matchesPattern('A?B', 'A\nB')).toBe(true);
  });
});

describe('compareSpecificity', () => {
  /** Spring's documented ranking, most specific first (DefaultStateTransitionComparator). */
  const SPRING_RANKING = ['bar', 'foo', 'fo?', 'bar??', 'foo??', '?0?', '???', '*foo*', '*f*', 'foo*', '*'];

  const sorted = (patterns: readonly string[]) => [...patterns].sort(compareSpecificity);

  it("orders Spring's documented example bar > foo > fo? > bar?? > foo?? > ?0? > ??? > *foo* > *f* > foo* > *", () => {
    expect(sorted(SPRING_RANKING)).toEqual(SPRING_RANKING);
    expect(sorted([...SPRING_RANKING].reverse())).toEqual(SPRING_RANKING);
    // A few fixed shuffles, so the result cannot depend on the input order.
    const shuffles = [
      ['*', '???', 'foo', '*f*', 'fo?', 'bar??', 'foo*', '?0?', 'bar', '*foo*', 'foo??'],
      ['foo??', '*foo*', 'bar', '?0?', 'foo*', 'bar??', 'fo?', '*f*', 'foo', '???', '*'],
      ['?0?', 'foo*', '*', 'bar', 'foo??', '???', '*f*', 'fo?', '*foo*', 'foo', 'bar??'],
    ];
    for (const shuffle of shuffles) expect(sorted(shuffle)).toEqual(SPRING_RANKING);
  });

  it('is consistent for every pair of the ranking: negative before, positive after, zero only for itself', () => {
    for (let i = 0; i < SPRING_RANKING.length; i++) {
      for (let j = 0; j < SPRING_RANKING.length; j++) {
        const a = SPRING_RANKING[i]!;
        const b = SPRING_RANKING[j]!;
        const result = compareSpecificity(a, b);
        if (i < j) expect(result, `${a} should come before ${b}`).toBeLessThan(0);
        else if (i > j) expect(result, `${a} should come after ${b}`).toBeGreaterThan(0);
        else expect(result).toBe(0);
      }
    }
  });

  it('puts any pattern without * before any pattern with *', () => {
    expect(compareSpecificity('???????', '*')).toBeLessThan(0);
    expect(compareSpecificity('?', 'A*B*C*D')).toBeLessThan(0);
    expect(compareSpecificity('*', 'FAILED')).toBeGreaterThan(0);
  });

  it('among * patterns, puts more * first, then fewer ?, then the longer pattern', () => {
    expect(compareSpecificity('**', '*')).toBeLessThan(0);
    expect(compareSpecificity('*A*', 'LONGER*PATTERN')).toBeLessThan(0);
    expect(compareSpecificity('COMPLETED*', '*')).toBeLessThan(0);
    expect(compareSpecificity('A*', '?*')).toBeLessThan(0);
    expect(compareSpecificity('COMPLETED*', 'C*')).toBeLessThan(0);
  });

  it('among ? patterns, puts fewer ? first, then the longer pattern', () => {
    expect(compareSpecificity('COMPLETED_?ARTIALLY', 'C??')).toBeLessThan(0);
    expect(compareSpecificity('abcd??', '?0?')).toBeLessThan(0);
    expect(compareSpecificity('?0?', '???')).toBeLessThan(0);
  });

  it('orders equally specific patterns alphabetically (bar before foo)', () => {
    expect(compareSpecificity('bar', 'foo')).toBeLessThan(0);
    expect(compareSpecificity('foo', 'bar')).toBeGreaterThan(0);
    expect(compareSpecificity('bar??', 'foo??')).toBeLessThan(0);
    expect(compareSpecificity('a*', 'b*')).toBeLessThan(0);
    // Without wildcards the length does not matter, only the alphabet.
    expect(compareSpecificity('COMPLETED', 'CONTINUABLE')).toBeLessThan(0);
    expect(compareSpecificity('ZZ', 'AAAA')).toBeGreaterThan(0);
  });

  it('reproduces the precedence of the decider tests of FlowJobBuilderTests', () => {
    expect(sorted(['*', '**'])).toEqual(['**', '*']);
    expect(sorted(['*', 'COMPLETED*'])).toEqual(['COMPLETED*', '*']);
    expect(sorted(['COMPLETED*', 'COMPLETED_PARTIALLY'])).toEqual(['COMPLETED_PARTIALLY', 'COMPLETED*']);
    expect(sorted(['COMPLETED_*ARTIALLY', 'COMPLETED_?ARTIALLY'])).toEqual(['COMPLETED_?ARTIALLY', 'COMPLETED_*ARTIALLY']);
    expect(sorted(['CONTIN*', 'CONTINUABLE'])).toEqual(['CONTINUABLE', 'CONTIN*']);
  });

  it('makes the first matching pattern of the sorted list the most specific one', () => {
    const first = (patterns: readonly string[], exitCode: string) => sorted(patterns).find((p) => matchesPattern(p, exitCode));
    const patterns = ['*', 'COMPLETED', 'COMPLETED*', 'FAILED', '*ED', 'COMPLETED WITH ?KIPS'];
    expect(first(patterns, 'COMPLETED')).toBe('COMPLETED');
    expect(first(patterns, 'COMPLETED WITH SKIPS')).toBe('COMPLETED WITH ?KIPS');
    expect(first(patterns, 'COMPLETED_PARTIALLY')).toBe('COMPLETED*');
    expect(first(patterns, 'FAILED')).toBe('FAILED');
    expect(first(patterns, 'STOPPED')).toBe('*ED');
    expect(first(patterns, 'UNKNOWN')).toBe('*');
  });
});
