// A small argv parser: --flag, --flag=value, --flag value, -o value, repeated flags.
export interface Parsed {
  flags: Map<string, string[]>;
  positional: string[];
  /** Everything after a bare `--`. */
  rest: string[];
}

export function parseArgs(argv: string[], booleans: ReadonlySet<string>): Parsed {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { rest = argv.slice(i + 1); break; }
    if (a.startsWith('-') && a.length > 1) {
      let name = a.replace(/^--?/, '');
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
      if (value === undefined) value = booleans.has(name) ? 'true' : argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: --${name}`);
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else {
      positional.push(a);
    }
  }
  return { flags, positional, rest };
}

export const flag = (p: Parsed, ...names: string[]): string | undefined => {
  for (const n of names) { const v = p.flags.get(n); if (v?.length) return v[v.length - 1]; }
  return undefined;
};
export const flags = (p: Parsed, ...names: string[]): string[] => names.flatMap((n) => p.flags.get(n) ?? []);
export const has = (p: Parsed, ...names: string[]): boolean => names.some((n) => p.flags.get(n)?.some((v) => v !== 'false'));
