import { describe, expect, it } from 'vitest';
import { readSpec, SpecError } from '../src/spec-reader.js';

describe('readSpec', () => {
  it('returns the root of a YAML document with typed field access', () => {
    const root = readSpec('title: Store latency\nsteps:\n  - pause: 5s\n', 'exp.yaml');
    const fields = root.fields(['title', 'steps']);
    expect(fields.required('title').string()).toBe('Store latency');
    expect(fields.required('steps').list()[0]!.path).toBe('steps[0]');
  });

  it('reads JSON too, with lines and columns', () => {
    const root = readSpec('{\n  "title": 3\n}\n', 'exp.json');
    const err = (() => {
      try {
        root.fields(['title']).required('title').string();
      } catch (e) {
        return e as SpecError;
      }
    })();
    expect(err).toBeInstanceOf(SpecError);
    expect(err?.message).toBe('exp.json:2:12: title: must be a string, got number 3');
  });

  it('names the file, line and field of an unknown field, with a suggestion', () => {
    const root = readSpec('title: x\nmethdo: []\n', 'exp.yaml');
    expect(() => root.fields(['title', 'method'])).toThrow(
      'exp.yaml:2:1: methdo: unknown field "methdo"; did you mean "method"?',
    );
  });

  it('rejects empty files, several documents and syntax errors with a position', () => {
    expect(() => readSpec('', 'a.yaml')).toThrow('a.yaml:1:1: the file is empty');
    expect(() => readSpec('# only a comment\n', 'a.yaml')).toThrow('the file is empty');
    expect(() => readSpec('a: 1\n---\nb: 2\n', 'a.yaml')).toThrow(
      'a.yaml:3:1: one document per file',
    );
    expect(() => readSpec('a: [1,\n', 'a.yaml')).toThrow(/^a\.yaml:\d+:\d+: invalid YAML/);
    expect(() => readSpec('a: 1\na: 2\n', 'a.yaml')).toThrow(/^a\.yaml:2:1: invalid YAML/);
  });

  it('rejects bad arguments with a TypeError', () => {
    expect(() => readSpec(3 as unknown as string, 'a.yaml')).toThrow(TypeError);
    expect(() => readSpec('a: 1', '')).toThrow('readSpec: file must be a non-empty string');
  });
});
