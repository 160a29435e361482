/**
 * Loading SLO specs into the model: nines YAML, OpenSLO v1 and Sloth `prometheus/v1`, told apart
 * by their first lines unless the caller names the format.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isMap, isScalar, LineCounter } from 'yaml';
import type { Slo } from '../model.js';
import { checkDuplicates, type Loaded } from './common.js';
import { SpecError } from './errors.js';
import { loadNines } from './nines.js';
import { loadOpenSlo } from './openslo.js';
import { parseSources, type Source } from './reader.js';
import { loadSloth } from './sloth.js';

/** The spec formats nines reads. */
export type SpecFormat = 'nines' | 'openslo' | 'sloth';

/** Options of {@link loadSlos}. */
export interface LoadSlosOptions {
  /** The file name used in errors and in each SLO's `origin` (default `'<input>'`). */
  readonly file?: string;
  /**
   * The format; `'auto'` (the default) reads `apiVersion: openslo/v1` as OpenSLO,
   * `version: prometheus/v1` (any `version:`) as Sloth, anything else as nines.
   */
  readonly format?: 'auto' | SpecFormat;
}

/** Options of {@link loadSloFile} and {@link loadSloFiles}. */
export interface LoadSloFileOptions {
  /** As in {@link LoadSlosOptions.format}. */
  readonly format?: 'auto' | SpecFormat;
}

const FORMATS = ['auto', 'nines', 'openslo', 'sloth'] as const;

function checkFormat(
  owner: string,
  options: unknown,
  keys: readonly string[],
): 'auto' | SpecFormat {
  if (options === undefined) return 'auto';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new TypeError(`${owner}: unknown option "${key}"`);
  }
  const format = (options as { format?: unknown }).format ?? 'auto';
  if (!(FORMATS as readonly unknown[]).includes(format)) {
    throw new TypeError(
      `${owner}: option "format" must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(format)}`,
    );
  }
  return format as 'auto' | SpecFormat;
}

/** Which format a document is in, from its `apiVersion` or `version` field. */
function detect(src: Source): SpecFormat {
  const root = src.doc.contents;
  if (!isMap(root)) return 'nines';
  const value = (key: string) => {
    const pair = root.items.find((p) => isScalar(p.key) && p.key.value === key);
    return pair && isScalar(pair.value) ? pair.value.value : undefined;
  };
  const apiVersion = value('apiVersion');
  // Any openslo/ version goes to the OpenSLO loader, which names the one it supports.
  if (typeof apiVersion === 'string' && apiVersion.startsWith('openslo/')) return 'openslo';
  // Sloth's loader names the one version it reads when another is given.
  if (value('version') !== undefined) return 'sloth';
  return 'nines';
}

/** Parses one file's text into its documents, dropping empty ones (a trailing `---`). */
function parse(text: string, file: string): Source[] {
  const sources = parseSources(text, file, new LineCounter()).filter(
    (s) => s.doc.contents !== null,
  );
  if (sources.length === 0) throw new SpecError(file, 1, 1, '', 'the file holds no spec');
  return sources;
}

/** Loads every document of every file; OpenSLO documents are pooled so references resolve. */
function loadAll(files: readonly Source[][], format: 'auto' | SpecFormat): Slo[] {
  const loaded: Loaded[] = [];
  const openslo: Source[] = [];
  for (const sources of files) {
    for (const src of sources) {
      const kind = format === 'auto' ? detect(src) : format;
      if (kind === 'openslo') openslo.push(src);
      else if (kind === 'sloth') loaded.push(...loadSloth(src));
      else loaded.push(...loadNines(src));
    }
  }
  if (openslo.length) loaded.push(...loadOpenSlo(openslo));
  checkDuplicates(loaded);
  return loaded.map((l) => l.slo);
}

/**
 * Loads the SLOs of a spec's text. Throws a {@link SpecError} naming the file, line, column and
 * field of the first problem; a TypeError for bad arguments.
 *
 * @example
 * loadSlos('service: orders\nslos:\n  - { name: availability, objective: 99.9%, sli: availability }')
 */
export function loadSlos(text: string, options?: LoadSlosOptions): Slo[] {
  const format = checkFormat('loadSlos', options, ['file', 'format']);
  if (typeof text !== 'string') throw new TypeError('loadSlos: text must be a string');
  const file = options?.file ?? '<input>';
  if (typeof file !== 'string' || file === '') {
    throw new TypeError('loadSlos: option "file" must be a non-empty string');
  }
  return loadAll([parse(text, file)], format);
}

/** Loads the SLOs of one spec file (see {@link loadSlos}). */
export async function loadSloFile(path: string, options?: LoadSloFileOptions): Promise<Slo[]> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('loadSloFile: path must be a non-empty string');
  }
  return loadSloFiles([path], options);
}

/**
 * Loads the SLOs of several spec files, or of every `.yaml`/`.yml` file in a directory. OpenSLO
 * documents are read together, so an SLO may reference an SLI defined in another file; SLO names
 * must be unique per service across all files.
 */
export async function loadSloFiles(
  paths: readonly string[],
  options?: LoadSloFileOptions,
): Promise<Slo[]> {
  const format = checkFormat('loadSloFiles', options, ['format']);
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p === '')) {
    throw new TypeError('loadSloFiles: paths must be an array of non-empty strings');
  }
  const files: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const names = (await readdir(path)).filter((n) => ['.yaml', '.yml'].includes(extname(n)));
      files.push(...names.sort().map((n) => join(path, n)));
    } else {
      files.push(path);
    }
  }
  const parsed: Source[][] = [];
  for (const file of files) parsed.push(parse(await readFile(file, 'utf8'), file));
  return loadAll(parsed, format);
}
