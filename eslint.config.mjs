// ESLint flat config: the recommended JavaScript and typescript-eslint rules, as the code stands.
// Formatting is prettier's business (`npm run format:check`), not the linter's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // A leading underscore marks a parameter or binding that is unused on purpose (an interface
      // method a platform does not implement, a field left out of a rest spread). Warnings, not errors,
      // while parallel branches land unused imports; to be made errors once main is clean.
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'warn',
    },
  },
  {
    // A function reads in one screen: none over 120 lines in src/, counted as written (comments and blank lines included).
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 120 }] },
  },
  {
    // The doors (action, app, CLI) are entry points: a list of named steps, none over 60 lines.
    files: ['src/action/**/*.ts', 'src/app/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60 }] },
  },
  {
    // Event and webhook payloads are untyped JSON read field by field.
    files: ['src/action/event.ts', 'src/app/gitea.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
);
