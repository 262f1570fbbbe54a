import { parseBuildArgs } from '../../../src/pipeline/build-args.js';

describe('parseBuildArgs: one rule for the action input and the CLI flag', () => {
  it('reads repeated --build-arg pairs as given, = in the value kept', () => {
    expect(parseBuildArgs(['A=1', 'B=x=y', 'EMPTY='], '--build-arg')).toEqual({ A: '1', B: 'x=y', EMPTY: '' });
    expect(parseBuildArgs([], '--build-arg')).toBeUndefined();
    expect(parseBuildArgs(undefined, '--build-arg')).toBeUndefined();
  });

  it.each([['nope'], ['=value'], [' =value']])('refuses the pair %p naming the flag', (pair) => {
    expect(() => parseBuildArgs([pair], '--build-arg')).toThrow(/field "--build-arg".*is not KEY=VALUE|is not KEY=VALUE.*--build-arg/s);
  });

  it('reads the action input as JSON (even with leading blanks) or KEY=VALUE lines', () => {
    expect(parseBuildArgs('  {"A": 1}', 'build-args')).toEqual({ A: '1' });
    expect(parseBuildArgs('\n A = 1 \n\nB=2', 'build-args')).toEqual({ A: ' 1', B: '2' });
    expect(() => parseBuildArgs('[1]', 'build-args')).toThrow(/line 1/);
  });
});
