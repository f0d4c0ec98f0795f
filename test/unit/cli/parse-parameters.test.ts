import { describe, expect, it } from 'vitest';
import { parseParameter, parseParameters } from '../../../src/cli/parse-parameters.js';

describe('command-line job parameters (name=value,type,identifying)', () => {
  it('reads a plain value as an identifying string', () => {
    expect(parseParameter('file=in.csv')).toEqual({ name: 'file', value: 'in.csv', identifying: true });
    expect(parseParameter('empty=')).toEqual({ name: 'empty', value: '', identifying: true });
    expect(parseParameter('url=http://x/?a=b')).toEqual({ name: 'url', value: 'http://x/?a=b', identifying: true });
  });

  it('converts each type, case-insensitively', () => {
    expect(parseParameter('count=10,number').value).toBe(10);
    expect(parseParameter('ratio=-0.5,Number').value).toBe(-0.5);
    expect(parseParameter('dry=TRUE,boolean').value).toBe(true);
    expect(parseParameter('day=2024-01-31,date').value).toEqual(new Date('2024-01-31'));
    expect(parseParameter('name=42,string').value).toBe('42');
  });

  it('reads the identifying flag after the type, or after an empty type', () => {
    expect(parseParameter('attempt=2,number,false')).toEqual({ name: 'attempt', value: 2, identifying: false });
    expect(parseParameter('note=hi,,false')).toEqual({ name: 'note', value: 'hi', identifying: false });
    expect(parseParameter('id=7,number,true').identifying).toBe(true);
  });

  it('keeps commas in a string value when the last parts are not a type and flag', () => {
    expect(parseParameter('tags=a,b').value).toBe('a,b');
    expect(parseParameter('tags=a,,b').value).toBe('a,,b');
    expect(parseParameter('list=x,y,string').value).toBe('x,y');
  });

  it('refuses bad syntax, types and flags, naming the argument', () => {
    expect(() => parseParameter('novalue')).toThrow(/'novalue'.*name=value/);
    expect(() => parseParameter('=x')).toThrow(/'=x'.*name/);
    expect(() => parseParameter('count=abc,number')).toThrow(/'count=abc,number'.*not a finite number/);
    expect(() => parseParameter('count=,number')).toThrow(/not a finite number/);
    expect(() => parseParameter('flag=yes,boolean')).toThrow(/'flag=yes,boolean'.*boolean/);
    expect(() => parseParameter('day=someday,date')).toThrow(/'day=someday,date'.*date/);
    expect(() => parseParameter('n=1,number,maybe')).toThrow(/identifying flag must be true or false/);
  });

  it('builds JobParameters and refuses a name given twice', () => {
    const parameters = parseParameters(['count=3,number', 'run=a,,false']);
    expect(parameters.toRecord()).toEqual({ count: 3, run: 'a' });
    expect(parameters.getParameter('run')?.identifying).toBe(false);
    expect(() => parseParameters(['a=1', 'a=2'])).toThrow(/more than once/);
    let caught: unknown;
    try {
      parseParameters(['a=x,number']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'JOB_PARAMETERS_INVALID', exitCode: 2 });
  });
});
