/**
 * The demo's live view: a status block of about 15 lines redrawn in place on a terminal, and a
 * one-line summary for everything else (CI, pipes, files).
 */
import { clockText } from '../progress.js';
import type { BreakerView, DemoState, ServiceView, SloView } from './model.js';

/** How the live view is drawn. */
export interface ViewOptions {
  /** Columns; lines are cut to it. Default 100. */
  readonly width?: number;
  /** ANSI colors (only for a terminal). Default false. */
  readonly color?: boolean;
}

type Paint = (text: string) => string;
interface Palette {
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly dim: Paint;
  readonly bold: Paint;
}

const ansi =
  (open: number, close: number): Paint =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

/** The palette for `color` (plain text without it). */
export function palette(color: boolean): Palette {
  if (!color) return { red: plain, green: plain, yellow: plain, dim: plain, bold: plain };
  return {
    red: ansi(31, 39),
    green: ansi(32, 39),
    yellow: ansi(33, 39),
    dim: ansi(2, 22),
    bold: ansi(1, 22),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences
const ANSI = /\x1b\[[0-9;]*m/g;

/** The width of `text` on screen (without its escape sequences). */
function visible(text: string): number {
  return text.replace(ANSI, '').length;
}

/** Cuts `line` to `width` visible characters, keeping escape sequences whole. */
function fit(line: string, width: number): string {
  if (visible(line) <= width) return line;
  let out = '';
  let shown = 0;
  let colored = false;
  for (let i = 0; i < line.length; ) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      out += line.slice(i, end + 1);
      colored = true;
      i = end + 1;
      continue;
    }
    if (shown >= width - 1) break;
    out += line[i];
    shown += 1;
    i += 1;
  }
  return `${out}…${colored ? '\x1b[0m' : ''}`;
}

function padEnd(text: string, n: number): string {
  return text + ' '.repeat(Math.max(0, n - visible(text)));
}

function padStart(text: string, n: number): string {
  return ' '.repeat(Math.max(0, n - visible(text))) + text;
}

/** `0.999` -> `99.9 %`, `0.99953` -> `99.95 %` (up to `digits` decimals, trailing zeros cut). */
export function percentText(fraction: number, digits = 2): string {
  if (!Number.isFinite(fraction)) return '-';
  // Trailing zeros go only after a decimal point: 100 stays 100, 99.50 becomes 99.5.
  const fixed = (fraction * 100).toFixed(digits);
  const text = fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
  return `${text === '-0' ? '0' : text} %`;
}

/** Milliseconds as `3.2 ms`, `240 ms` or `1.25 s`; `-` for null. */
export function msText(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function rateText(rate: number): string {
  return Number.isFinite(rate) ? rate.toFixed(1) : '-';
}

/** Cells of the budget bar: narrow enough that a row with every marker fits 100 columns. */
const BAR_CELLS = 10;

/** A bar of `width` cells for the share of budget left (empty below 0, full above 1). */
function budgetBar(remaining: number, width: number): string {
  const share = Number.isFinite(remaining) ? Math.min(1, Math.max(0, remaining)) : 0;
  const full = Math.round(share * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

function budgetPaint(remaining: number, p: Palette): Paint {
  if (remaining <= 0) return p.red;
  if (remaining < 0.5) return p.yellow;
  return p.green;
}

function breakerPaint(state: BreakerView['state'], p: Palette): Paint {
  if (state === 'open') return p.red;
  if (state === 'half-open' || state === 'isolated') return p.yellow;
  return p.green;
}

function title(state: DemoState): string {
  const time =
    state.durationMs === null
      ? `${clockText(state.elapsedMs)} (until stopped)`
      : `${clockText(state.elapsedMs)} / ${clockText(state.durationMs)}`;
  const step = state.chaosStep === null ? '' : `: ${state.chaosStep}`;
  return `${time}  ${state.phase}${step}`;
}

function serviceRow(s: ServiceView, p: Palette): string {
  const error = s.errorRatio === null ? '-' : percentText(s.errorRatio, 1);
  const errorCell = s.errorRatio !== null && s.errorRatio > 0.01 ? p.red(error) : error;
  return [
    padEnd(`  ${s.name}`, 14),
    padStart(rateText(s.rate), 8),
    padStart(errorCell, 9),
    padStart(msText(s.p50Ms), 10),
    padStart(msText(s.p99Ms), 10),
    `  ${s.up ? p.green('up') : p.red('DOWN')}`,
  ].join('');
}

function sloRow(s: SloView, p: Palette): string {
  const paint = budgetPaint(s.budgetRemaining, p);
  const budget = `${paint(budgetBar(s.budgetRemaining, BAR_CELLS))} ${padStart(percentText(s.budgetRemaining, 0), 8)}`;
  const burn = `${Number.isFinite(s.burnRate) ? s.burnRate.toFixed(1) : '-'}x`;
  const firing = [
    s.alerts.page ? p.red('PAGE') : '',
    s.alerts.ticket ? p.yellow('TICKET') : '',
    s.policy === 'exhausted' ? p.red('FROZEN') : s.policy === 'at-risk' ? p.yellow('at risk') : '',
  ]
    .filter((x) => x !== '')
    .join(' ');
  return [
    padEnd(`  ${s.service}/${s.name}`, 24),
    padStart(percentText(s.objective, 3), 9),
    padStart(percentText(s.attainment, 2), 10),
    `  ${budget}`,
    padStart(s.burnRate > 1 ? p.yellow(burn) : burn, 8),
    firing === '' ? '' : `  ${firing}`,
  ].join('');
}

/** Joins `items` into lines no wider than `width`, starting with `label`. */
function wrap(label: string, items: readonly string[], width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = label;
  let used = 0;
  for (const [i, item] of items.entries()) {
    const sep = line === label ? '' : '   ';
    if (line !== label && visible(line) + sep.length + visible(item) > width) {
      if (lines.length + 1 >= maxLines) {
        lines.push(`${line}   … ${items.length - i} more`);
        return lines;
      }
      lines.push(line);
      line = ' '.repeat(label.length);
      used = 0;
    }
    line += (used === 0 ? '' : '   ') + item;
    used += 1;
  }
  lines.push(line);
  return lines;
}

/** The live status block: title, traffic, RED per service, SLOs, breakers, alerts, hypothesis. */
export function renderView(state: DemoState, options: ViewOptions = {}): string[] {
  const width = options.width ?? 100;
  if (!Number.isInteger(width) || width < 20) {
    throw new TypeError(`renderView: width must be an integer >= 20, got ${String(width)}`);
  }
  const p = palette(options.color === true);
  const lines: string[] = [];
  lines.push(`${p.bold('nines demo')}  ${title(state)}`);
  const t = state.traffic;
  const failed = t.failed > 0 ? p.red(`failed ${t.failed}`) : `failed ${t.failed}`;
  lines.push(`traffic   sent ${t.sent}   ok ${t.ok}   ${failed}   ${rateText(t.rate)} req/s`);

  lines.push(
    p.dim(
      `${padEnd('service', 14)}${padStart('req/s', 8)}${padStart('errors', 9)}${padStart('p50', 10)}${padStart('p99', 10)}`,
    ),
  );
  if (state.services.length === 0) lines.push('  (no service yet)');
  for (const s of state.services) lines.push(serviceRow(s, p));

  lines.push(
    p.dim(
      `${padEnd('SLO', 24)}${padStart('objective', 9)}${padStart('attained', 10)}  ${padEnd('error budget left', BAR_CELLS + 9)}${padStart('burn', 8)}`,
    ),
  );
  if (state.slos.length === 0) lines.push('  (no SLO reported yet)');
  for (const s of state.slos) lines.push(sloRow(s, p));

  const breakers = state.breakers.map(
    (b) => `${b.service}/${b.name}: ${breakerPaint(b.state, p)(b.state)}`,
  );
  lines.push(...wrap('breakers  ', breakers.length === 0 ? ['none'] : breakers, width, 2));

  const alerts = state.alerts.map((a) => {
    const severity = a.severity === 'page' ? p.red('PAGE') : p.yellow('TICKET');
    return `${severity} ${a.service}/${a.slo} since ${clockText(a.sinceMs)}`;
  });
  lines.push(...wrap('alerts    ', alerts.length === 0 ? ['none'] : alerts, width, 2));

  const h = state.hypothesis;
  const missText = `${h.misses} ${h.misses === 1 ? 'miss' : 'misses'}`;
  const misses = h.misses > 0 ? p.red(missText) : missText;
  lines.push(
    h.checks === 0 && h.last === null
      ? 'hypothesis  no checks yet'
      : `hypothesis  ${h.checks} ${h.checks === 1 ? 'check' : 'checks'}   ${misses}${h.last === null ? '' : `   last: ${h.last}`}`,
  );
  return lines.map((line) => fit(line, width));
}

/** One plain line (no colors) of the same state, for output that is not a terminal. */
export function renderSummaryLine(state: DemoState): string {
  const t = state.traffic;
  const parts: string[] = [
    title(state),
    `sent ${t.sent} ok ${t.ok} failed ${t.failed} ${rateText(t.rate)} req/s`,
  ];
  if (state.services.length > 0) {
    parts.push(
      state.services
        .map((s) =>
          s.up
            ? `${s.name} ${rateText(s.rate)}/s err ${s.errorRatio === null ? '-' : percentText(s.errorRatio, 1)} p99 ${msText(s.p99Ms)}`
            : `${s.name} DOWN`,
        )
        .join(', '),
    );
  }
  if (state.slos.length > 0) {
    parts.push(
      state.slos
        .map(
          (s) =>
            `${s.service}/${s.name} ${percentText(s.attainment)} budget ${percentText(s.budgetRemaining, 0)} burn ${Number.isFinite(s.burnRate) ? s.burnRate.toFixed(1) : '-'}x`,
        )
        .join(', '),
    );
  }
  const notClosed = state.breakers.filter((b) => b.state !== 'closed');
  parts.push(
    notClosed.length === 0
      ? 'breakers closed'
      : `breakers ${notClosed.map((b) => `${b.service}/${b.name} ${b.state}`).join(', ')}`,
  );
  parts.push(
    state.alerts.length === 0
      ? 'alerts none'
      : `alerts ${state.alerts.map((a) => `${a.severity} ${a.service}/${a.slo}`).join(', ')}`,
  );
  const h = state.hypothesis;
  parts.push(`checks ${h.checks} misses ${h.misses}`);
  return parts.join(' | ').replace(ANSI, '');
}
