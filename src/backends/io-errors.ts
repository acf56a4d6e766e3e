// Typed errors for the native I/O engine. Native calls return a negative errno;
// this turns one into an Error shaped like Node's own fs errors (code, errno,
// syscall, path), created in the awaiting async function so its stack shows
// who asked for the I/O.
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

/** An I/O request failed in the kernel (or came back short). */
export class IoError extends Error {
  /** Negative errno, as in Node's SystemError. */
  readonly errno: number;
  /** errno name, e.g. 'EIO', 'EBADF', 'EINVAL'. */
  readonly code: string;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(errno: number, options: { syscall: string; path?: string; detail?: string }) {
    const [code, description] = systemErrors.get(errno) ?? [`E${-errno}`, 'unknown error'];
    const where = options.path === undefined ? '' : ` '${options.path}'`;
    const detail = options.detail === undefined ? '' : ` (${options.detail})`;
    super(`${code}: ${description}, ${options.syscall}${where}${detail}`);
    this.name = 'IoError';
    this.errno = errno;
    this.code = code;
    this.syscall = options.syscall;
    this.path = options.path;
  }
}

/** errno values the engine itself uses; Linux numbering, matching os.constants.errno. */
export const Errno = {
  EIO: -5,
  EBADF: -9,
  EAGAIN: -11,
  EBUSY: -16,
  EINVAL: -22,
  ECANCELED: -125,
} as const;

/** The engine was closed (or is closing) when a request arrived. */
export class EngineClosedError extends Error {
  constructor(readonly engineKind: string) {
    super(`the ${engineKind} I/O engine is closed`);
    this.name = 'EngineClosedError';
  }
}
