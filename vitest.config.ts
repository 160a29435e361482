import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Property and model tests run thousands of cases; give them room on a 2-core machine.
    testTimeout: 60_000,
    pool: 'forks',
  },
});
