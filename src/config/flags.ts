// Command-line flag walking shared by the `strata` subcommands: `--flag value`
// and `--flag=value` forms; a flag that wants a value and has none is a
// ConfigError (one line, exit 2), never a crash.

/** Bad configuration: reported as one line, exit status 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Calls `onFlag` for each flag; `value()` consumes the flag's value. */
export function forEachFlag(args: string[], onFlag: (flag: string, value: () => string) => void): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined) throw new ConfigError(`${flag} needs a value`);
      return next;
    };
    onFlag(flag, value);
  }
}
