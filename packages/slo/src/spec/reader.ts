/**
 * A typed walk over a parsed YAML document that remembers where every value came from, so each
 * check can fail with the file, line, column and field path of the node it rejects.
 *
 * @internal
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Pair,
  parseAllDocuments,
  type YAMLError,
} from 'yaml';
import { SpecError } from './errors.js';

/** One parsed YAML document and the file it came from. */
export class Source {
  constructor(
    readonly file: string,
    readonly lines: LineCounter,
    readonly doc: Document.Parsed,
  ) {}

  /** The document's root as a value with an empty path. */
  root(): Value {
    return new Value(this, this.doc.contents, '', null);
  }

  /** A SpecError at `offset` (a character offset in the file). */
  errorAt(offset: number, field: string, reason: string): SpecError {
    const { line, col } = this.lines.linePos(offset);
    return new SpecError(this.file, line, col, field, reason);
  }
}

/** Parses every document in `text`; a syntax error throws a SpecError at the parser's position. */
export function parseSources(text: string, file: string, lines: LineCounter): Source[] {
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  // parseAllDocuments returns an EmptyStream (an array with `empty`) for a blank file.
  const list = Array.isArray(docs) ? docs : [docs];
  const sources: Source[] = [];
  for (const doc of list) {
    const error: YAMLError | undefined = doc.errors[0];
    if (error) {
      const { line, col } = lines.linePos(error.pos[0]);
      // The parser's first line is the message; the rest is a source excerpt we already locate.
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new SpecError(file, line, col, '', `invalid YAML: ${message}`);
    }
    sources.push(new Source(file, lines, doc));
  }
  return sources;
}

/** Describes a value's YAML type for "must be X, got Y" messages. */
function describe(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'nothing (null)';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    return `${typeof v} ${String(v)}`;
  }
  return 'an unsupported YAML node';
}

/** Edit distance, for "did you mean" on unknown fields. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`, if it is close enough to be a likely typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    // time_zone for timeZone, Objective for objective: same word, other spelling.
    if (squash(candidate) === squash(name)) return candidate;
    const d = distance(name, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Joins a field path: `slos[1]` + `objective` gives `slos[1].objective`. */
function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A node of the document with its field path; `node` is null when the field is absent. */
export class Value {
  readonly node: Node | null;
  constructor(
    readonly src: Source,
    node: unknown,
    readonly path: string,
    /** The map that holds this field, to locate errors about a missing field. */
    readonly parent: Value | null,
    /** Where to point when the node itself has no position (the key of `objective:` with no value). */
    private readonly anchor: Node | null = null,
  ) {
    let n = (node ?? null) as Node | null;
    if (n !== null && isAlias(n)) n = (n.resolve(src.doc) ?? null) as Node | null;
    this.node = n;
  }

  /** Throws {@link error}; for expression positions, where `throw` cannot stand. */
  fail(reason: string): never {
    throw this.error(reason);
  }

  /** A SpecError at this node (or at its parent map when the field is absent). */
  error(reason: string): SpecError {
    let at: Value | null = this;
    let range = this.node?.range ?? this.anchor?.range;
    while (!range && at) {
      at = at.parent;
      range = at?.node?.range;
    }
    return this.src.errorAt(range?.[0] ?? 0, this.path, reason);
  }

  /** A scalar's plain JavaScript value (undefined for maps and lists). */
  get scalar(): unknown {
    return isScalar(this.node) ? this.node.value : undefined;
  }

  /** The text the scalar was written as, for messages that quote the author. */
  get text(): string {
    if (isScalar(this.node)) return this.node.source ?? String(this.node.value);
    return describe(this.node);
  }

  /** Whether the node is a map (for fields that accept a shorthand scalar or a map). */
  get isMap(): boolean {
    return isMap(this.node);
  }

  /** Whether the node is a list (for fields that accept one item or a list). */
  get isList(): boolean {
    return isSeq(this.node);
  }

  /** The keys of a map (for maps whose schema belongs to someone else, read with `fields(keys())`). */
  keys(): string[] {
    if (!isMap(this.node)) throw this.error(`must be a map, got ${describe(this.node)}`);
    return this.node.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : ''));
  }

  /**
   * Reads a map and rejects keys outside `known` (with a suggestion when one is close). The
   * result gives typed access to each field.
   */
  fields(known: readonly string[]): Fields {
    if (!isMap(this.node)) throw this.error(`must be a map, got ${describe(this.node)}`);
    const pairs = new Map<string, Pair>();
    for (const pair of this.node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key !== 'string') {
        throw new Value(this.src, keyNode, this.path, this).error(
          `keys must be strings, got ${describe(keyNode)}`,
        );
      }
      if (!known.includes(key)) {
        const hint = suggest(key, known);
        const list = known.join(', ');
        throw new Value(this.src, keyNode, child(this.path, key), this).error(
          hint
            ? `unknown field "${key}"; did you mean "${hint}"?`
            : `unknown field "${key}" (known fields: ${list})`,
        );
      }
      pairs.set(key, pair);
    }
    return new Fields(this, pairs);
  }

  /** Reads a list's items. */
  list(): Value[] {
    if (!isSeq(this.node)) throw this.error(`must be a list, got ${describe(this.node)}`);
    return this.node.items.map((item, i) => new Value(this.src, item, `${this.path}[${i}]`, this));
  }

  /** Reads a non-empty string. */
  string(): string {
    const v = this.scalar;
    if (typeof v !== 'string') throw this.error(`must be a string, got ${describe(this.node)}`);
    if (v.trim() === '') throw this.error('must not be empty');
    return v;
  }

  /** Reads a finite number. */
  number(): number {
    const v = this.scalar;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw this.error(`must be a number, got ${describe(this.node)}`);
    }
    return v;
  }

  /** Reads a boolean. */
  boolean(): boolean {
    const v = this.scalar;
    if (typeof v !== 'boolean')
      throw this.error(`must be true or false, got ${describe(this.node)}`);
    return v;
  }

  /** Reads a number or a string (objectives and durations accept both). */
  numberOrString(): number | string {
    const v = this.scalar;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    throw this.error(`must be a number or a string, got ${describe(this.node)}`);
  }

  /** Reads a map of string keys to string values (labels). */
  labels(): Record<string, string> {
    if (!isMap(this.node)) throw this.error(`must be a map of strings, got ${describe(this.node)}`);
    const out: Record<string, string> = {};
    for (const pair of this.node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string') {
        throw new Value(this.src, pair.key, this.path, this).error('label names must be strings');
      }
      const value = new Value(this.src, pair.value, child(this.path, key), this);
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) {
        throw new Value(this.src, pair.key, value.path, this).error(
          `"${key}" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)`,
        );
      }
      const v = value.scalar;
      // Numbers and booleans are common in labels (tier: 2); Prometheus label values are text.
      if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
      else out[key] = value.string();
    }
    return out;
  }
}

/** The fields of a map, already checked against the known names. */
export class Fields {
  constructor(
    readonly owner: Value,
    private readonly pairs: ReadonlyMap<string, Pair>,
  ) {}

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.pairs.has(key);
  }

  /** The field's value, or undefined when it is absent. */
  get(key: string): Value | undefined {
    const pair = this.pairs.get(key);
    if (!pair) return undefined;
    // A key with no value (`objective:`) has no value node; its key still locates it.
    return new Value(
      this.owner.src,
      pair.value,
      child(this.owner.path, key),
      this.owner,
      pair.key as Node | null,
    );
  }

  /** The field's value; fails at the map when it is absent. */
  required(key: string, what?: string): Value {
    const value = this.get(key);
    if (!value) {
      throw new Value(this.owner.src, null, child(this.owner.path, key), this.owner).error(
        `is required${what ? ` (${what})` : ''}`,
      );
    }
    return value;
  }

  /** Fails unless exactly one of `keys` is present, and returns that one. */
  oneOf(keys: readonly string[]): [string, Value] {
    const present = keys.filter((k) => this.pairs.has(k));
    if (present.length !== 1) {
      const at = present.length ? this.get(present[1]!)! : this.owner;
      throw at.error(
        present.length
          ? `only one of ${keys.join(', ')} may be given, got ${present.join(' and ')}`
          : `one of ${keys.join(', ')} is required`,
      );
    }
    return [present[0]!, this.get(present[0]!)!];
  }
}
