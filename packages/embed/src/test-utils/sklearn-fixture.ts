import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** One sparse row as scikit-learn wrote it. */
export interface FixtureRow {
  readonly indices: number[];
  readonly values: number[];
}

/** One vectorizer configuration and what scikit-learn computed for it. */
export interface FixtureConfig {
  readonly name: string;
  readonly options: Record<string, unknown>;
  readonly vocabulary: string[];
  readonly idf: number[];
  readonly rows: FixtureRow[];
  readonly heldOut: FixtureRow[];
}

/** scikit-learn TruncatedSVD results on the `cbtm` configuration's matrix. */
export interface FixtureSvd {
  readonly algorithm: string;
  readonly nIter: number;
  readonly nComponents: number;
  readonly explainedVarianceRatio: number[];
  readonly singularValues: number[];
  readonly transformed: number[][];
}

/** The parity fixture written by tools/embed/make-fixtures.py. */
export interface SklearnFixture {
  readonly versions: Record<string, string>;
  readonly englishStopWords: string[];
  readonly fitDocs: { id: string; text: string }[];
  readonly heldOutDocs: { id: string; text: string }[];
  readonly configs: FixtureConfig[];
  readonly torture: { text: string; tokens: Record<string, string[]> }[];
  readonly argsort: { values: number[]; order: number[] }[];
  readonly regex: { pattern: string; text: string; findall: string[] }[];
  readonly svd: {
    config: string;
    docs: { id: string; text: string }[];
    randomized: FixtureSvd;
    arpack: FixtureSvd;
    flatArpack: FixtureSvd;
  };
}

let cached: SklearnFixture | undefined;

/** Loads packages/embed/fixtures/sklearn-parity.json.gz (cached). */
export function loadSklearnFixture(): SklearnFixture {
  if (!cached) {
    const file = fileURLToPath(new URL('../../fixtures/sklearn-parity.json.gz', import.meta.url));
    cached = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as SklearnFixture;
  }
  return cached;
}

/** The fixture configuration called `name`. */
export function fixtureConfig(name: string): FixtureConfig {
  const c = loadSklearnFixture().configs.find((x) => x.name === name);
  if (!c) throw new Error(`fixture has no config ${name}`);
  return c;
}
