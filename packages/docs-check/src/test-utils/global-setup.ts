import type { TestProject } from 'vitest/node';

/**
 * Gives this test run an id, so the test files that open the docs in Chromium build the site
 * once between them (see `ensureSite`), and files that do not need it build nothing.
 */
export default function setup(project: TestProject): void {
  project.provide('docsRunId', `${process.pid}-${Date.now()}`);
}

declare module 'vitest' {
  export interface ProvidedContext {
    docsRunId: string;
  }
}
