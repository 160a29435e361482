/**
 * The reader the SLO specs are loaded with, for other specs of nines (chaos experiments) that want
 * the same errors: `file:line:column: field: problem`, with "did you mean" on unknown fields.
 *
 * @example
 * import { readSpec } from '@nines/slo/spec-reader';
 * const root = readSpec('title: hello\n', 'experiment.yaml');
 * const title = root.fields(['title']).required('title').string();
 */
import { LineCounter } from 'yaml';
import { SpecError } from './spec/errors.js';
import { parseSources, type Value } from './spec/reader.js';

export { formatSeconds, parseSeconds, percentToFraction } from './spec/duration.js';
export { SpecError } from './spec/errors.js';
export { Fields, suggest, Value } from './spec/reader.js';

/**
 * Parses one YAML (or JSON, which YAML reads too) document and returns its root. Syntax errors,
 * duplicate keys and several documents in one file throw a {@link SpecError} with the position.
 */
export function readSpec(text: string, file: string): Value {
  if (typeof text !== 'string') throw new TypeError('readSpec: text must be a string');
  if (typeof file !== 'string' || file === '') {
    throw new TypeError('readSpec: file must be a non-empty string');
  }
  const sources = parseSources(text, file, new LineCounter());
  if (sources.length === 0) throw new SpecError(file, 1, 1, '', 'the file is empty');
  if (sources.length > 1) {
    throw sources[1]!.root().error('one document per file; found a second one');
  }
  const root = sources[0]!.root();
  if (root.node === null) throw root.error('the file is empty');
  return root;
}
