import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@steward/contracts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export type Source = 'flag' | 'env' | 'file' | 'default';

/** Where the CLI sends its requests and with which token, and where each came from (for error messages). */
export interface Connection {
  apiUrl: string;
  token?: string;
  source: { apiUrl: Source; token?: Source };
  configFile: string;
}

interface ConfigFile {
  apiUrl?: string;
  token?: string;
}

/** `$XDG_CONFIG_HOME/steward/config.json`, else `~/.config/steward/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  const base = nonEmpty(env.XDG_CONFIG_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), '.config');
  return join(base, 'steward', 'config.json');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // No config file is the normal case: env and flags are enough.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ValidationError(`cannot read the config file ${path}: ${(err as Error).message}`, [
      { path, message: (err as Error).message },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`the config file ${path} is not valid JSON: ${(err as Error).message}`, [
      { path, message: 'not valid JSON' },
    ]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError(`the config file ${path} must hold an object like {"apiUrl": "...", "token": "..."}`, [
      { path, message: 'not an object' },
    ]);
  }
  const file = parsed as Record<string, unknown>;
  for (const key of ['apiUrl', 'token'] as const) {
    if (file[key] !== undefined && typeof file[key] !== 'string') {
      throw new ValidationError(`the config file ${path}: ${key} must be a string`, [
        { path: `${path}: ${key}`, message: 'must be a string' },
      ]);
    }
  }
  return { apiUrl: file.apiUrl as string | undefined, token: file.token as string | undefined };
}

function checkUrl(url: string, where: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`${where} is not a URL: '${url}'`, [{ path: where, message: 'not a URL' }]);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(`${where} must be an http(s) URL: '${url}'`, [{ path: where, message: 'not http(s)' }]);
  }
  return url.replace(/\/+$/, '');
}

/** Flags win over the environment, which wins over the config file, which wins over the default. */
export async function resolveConnection(
  flags: { apiUrl?: string; token?: string },
  env: NodeJS.ProcessEnv,
): Promise<Connection> {
  const configFile = configFilePath(env);
  const file = await loadConfigFile(configFile);

  const urlCandidates: Array<[string | undefined, Source, string]> = [
    [nonEmpty(flags.apiUrl), 'flag', '--api-url'],
    [nonEmpty(env.STEWARD_API_URL), 'env', 'STEWARD_API_URL'],
    [nonEmpty(file.apiUrl), 'file', `apiUrl in ${configFile}`],
    [DEFAULT_API_URL, 'default', 'the default API URL'],
  ];
  const [url, urlSource, urlWhere] = urlCandidates.find(([value]) => value !== undefined)!;

  const tokenCandidates: Array<[string | undefined, Source]> = [
    [nonEmpty(flags.token), 'flag'],
    [nonEmpty(env.STEWARD_TOKEN), 'env'],
    [nonEmpty(file.token), 'file'],
  ];
  const [token, tokenSource] = tokenCandidates.find(([value]) => value !== undefined) ?? [undefined, undefined];

  return {
    apiUrl: checkUrl(url!, urlWhere),
    token,
    source: { apiUrl: urlSource, token: tokenSource },
    configFile,
  };
}
