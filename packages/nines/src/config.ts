import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './command.js';

/**
 * Loads the configuration a service uses from a file: JSON (`.json`), or an ES module (`.js`,
 * `.mjs`) whose `default` export (or the export named by `exportName`) is the configuration.
 * A module lets the CLI read exactly the object the service passes to its own code.
 */
export async function loadConfig(file: string, cwd: string, exportName: string): Promise<unknown> {
  const path = resolve(cwd, file);
  const ext = extname(path);
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (ext === '.js' || ext === '.mjs') {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`cannot load ${file}: ${(err as Error).message}`);
    }
    const value = mod[exportName] ?? mod.default;
    if (value === undefined) {
      throw new UsageError(`${file} exports neither "${exportName}" nor a default export`);
    }
    return value;
  }
  throw new UsageError(`${file}: a configuration file must be .json, .js or .mjs`);
}
