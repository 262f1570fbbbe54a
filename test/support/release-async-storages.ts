import asyncHooks, { type AsyncLocalStorage } from 'node:async_hooks';

// Jest 30.5's jest-circus makes an AsyncLocalStorage for every test file it runs and never disables
// it (node_modules/jest-circus/build/jestAdapterInit.js, `testExecutionContext`). On Node 20 the
// init hook of every async resource, each promise included, visits every enabled storage
// (node:async_hooks, AsyncLocalStorage._propagate), so a worker that had run 30 files made promises
// about five times slower than a fresh one. This setup file runs before each test file, when the
// storages of the worker's earlier files are no longer in use: it disables them.
// Every file gets the worker's one `node:async_hooks` module (a test file's `process` and globals are
// its own), so the storages are counted, and the count kept, there.
const REGISTRY = Symbol.for('agent-preview.test.async-storages');
type Registry = { storages: AsyncLocalStorage<unknown>[] };
const worker = asyncHooks as unknown as Record<symbol, Registry | undefined>;

function counted(): Registry {
  const registry: Registry = { storages: [] };
  const Original = asyncHooks.AsyncLocalStorage;
  asyncHooks.AsyncLocalStorage = class CountedAsyncLocalStorage<T> extends Original<T> {
    constructor() {
      super();
      registry.storages.push(this as AsyncLocalStorage<unknown>);
    }
  };
  return registry;
}

const registry = (worker[REGISTRY] ??= counted());
for (const storage of registry.storages.splice(0)) storage.disable();
