import { SETTINGS, type Setting } from './schema.js';

/** The marker lines around the generated settings table in the README. */
export const SETTINGS_START = '<!-- settings:start -->';
/** The line that ends the generated settings table. */
export const SETTINGS_END = '<!-- settings:end -->';

const code = (text: string): string => `\`${text}\``;
const cell = (text: string): string => text.replace(/\|/g, '\\|');

function defaultCell(setting: Setting): string {
  return setting.default === 'off' || setting.default === '–' ? setting.default : code(setting.default);
}

/** The markdown table of every setting (env | tag (live) | default | meaning), with the value formats below it. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) =>
    `| ${code(s.env)} | ${s.tag === null ? '–' : code(s.tag)} | ${cell(defaultCell(s))} | ${cell(s.doc)} |`,
  );
  return [
    '| env | tag (live) | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
    'Live settings are read from the device tag `agent.config.<tag>`, else the fleet tag of that name,',
    'else the environment, else the default; an empty value counts as unset. Durations: `500ms`, `90s`,',
    '`5m`, `2h`, `1d`, combined `1h30m`; a bare number is seconds; at most `24d`. Booleans: `1/true/on/yes`',
    'or `0/false/off/no`. Sizes are binary: `512KB`, `64MB` (= 64 × 2^20 bytes), `1GB`. Lists are comma',
    'separated. `off` turns an optional setting (default off) off again.',
  ].join('\n');
}

/** Replaces the text between the settings markers with settingsTable(); throws when the markers are missing. */
export function syncReadme(readme: string): string {
  const start = readme.indexOf(SETTINGS_START);
  const end = readme.indexOf(SETTINGS_END, start + SETTINGS_START.length);
  if (start < 0 || end < 0) {
    throw new Error(`the README has no ${SETTINGS_START} … ${SETTINGS_END} markers; add them where the settings table belongs, then run the sync (npm run docs)`);
  }
  return `${readme.slice(0, start + SETTINGS_START.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}
