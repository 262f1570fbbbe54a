import { formatDuration, parseDuration } from '../../../src/duration.js';
import { renderUrlTemplate, validateUrlTemplate } from '../../../src/pipeline/url.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['45', 45_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, 'ttl')).toBe(ms);
  });

  it.each(['', 'soon', '-5m', '8 hours', '0', '5x'])('rejects %p naming the field', (text) => {
    expect(() => parseDuration(text, 'ttl')).toThrow(/field "ttl".*not a duration/);
  });

  it('takes zero only where the least allowed is zero', () => {
    for (const zero of ['0', '0s', '0ms', '0.0']) expect(parseDuration(zero, 'spacing', { minMs: 0 })).toBe(0);
    // Zero is a duration that is too short where a least one is set (issue 27: `--ttl 0` said "not a duration").
    expect(() => parseDuration('0s', 'ttl', { minMs: 60_000 })).toThrow(/field "ttl".*"0s" is too short; the least allowed is 1m/);
    expect(() => parseDuration('0', 'delay')).toThrow(/field "delay".*not a duration/);
  });

  it('enforces limits', () => {
    expect(() => parseDuration('10s', 'ttl', { minMs: 60_000 })).toThrow(/too short; the least allowed is 1m/);
    expect(() => parseDuration('40d', 'ttl', { maxMs: 30 * 86_400_000 })).toThrow(/too long; the most allowed is 30d/);
  });

  it('formats back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(450)).toBe('450ms');
    expect(formatDuration(61_000)).toBe('1m1s');
  });
});

describe('preview URL templates', () => {
  it('fills placeholders, escaping values', () => {
    expect(
      renderUrlTemplate('https://{release}.{namespace}.example.com/{label}?pr={number}', {
        release: 'hello-pr-3',
        namespace: 'team',
        label: 'pr-3',
        number: 3,
      }),
    ).toBe('https://hello-pr-3.team.example.com/pr-3?pr=3');
    expect(renderUrlTemplate('https://x.test/{agent}', { agent: 'a/../b?c' })).toBe('https://x.test/a%2F..%2Fb%3Fc');
  });

  it('rejects unknown placeholders, non-http URLs and credentials', () => {
    expect(() => validateUrlTemplate('https://x.test/{pr}')).toThrow(/unknown placeholder \{pr\}/);
    expect(() => validateUrlTemplate('ftp://x.test/{id}')).toThrow(/must start with http/);
    expect(() => validateUrlTemplate('https://x.test/{id}?edge_token=abc')).toThrow(/credential/);
    expect(() => validateUrlTemplate('https://{release}.example.com')).not.toThrow();
  });
});
