import { availableParallelism } from 'node:os';

/** Tests are TypeScript ESM, transformed by SWC; run through `npm test`. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/release-async-storages.ts'],
  // The soak (10 PRs × 5 pushes through the action bundle and the app) runs on its own: npm run test:soak.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/soak/'],
  testTimeout: 60000,
  // Most e2e time is spent in the action bundles the tests start, or waiting on them: half again as
  // many workers as cores keeps the cores busy (Jest's own percentages stop at 100%).
  // The workers inherit `npm test`'s Node options (package.json): `--interrupt-budget` at four times
  // V8's 67,584 lets code run longer before V8 optimizes it. Jest evaluates every module afresh for
  // each test file, so the same functions were optimized again file after file; this spares about a
  // sixth of the CPU of the in-process tests (docs/development.md, "Test suite cost").
  maxWorkers: Math.max(2, Math.round(availableParallelism() * 1.5)),
};
