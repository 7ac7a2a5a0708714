// flock(2) through bun:ffi. Neither Bun nor Node has a file-lock call, and the npm choices do not fit:
// proper-lockfile keeps a lock directory and guesses staleness from its mtime (a kill -9 leaves it
// behind until the guess expires), fs-ext is a native addon that does not load in a compiled Bun
// binary. An flock is released by the kernel the moment its process dies, however it dies.
import { dlopen, FFIType, read } from "bun:ffi";

const LOCK_EX = 2;
const LOCK_NB = 4;
/** EWOULDBLOCK (= EAGAIN): Linux 11, the BSDs and macOS 35. */
const WOULD_BLOCK = new Set([11, 35]);

type Libc = { flock: (fd: number, op: number) => number; errno: () => number | undefined };
let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const flock = { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } as const;
  const errnoPtr = { args: [], returns: FFIType.ptr } as const;
  const tries: [string, string][] = [
    ["libc.so.6", "__errno_location"],
    ["libc.so", "__errno_location"],
    ["libc.musl-x86_64.so.1", "__errno_location"],
    ["/usr/lib/libSystem.B.dylib", "__error"],
  ];
  for (const [name, errnoFn] of tries) {
    try {
      const lib = dlopen(name, { flock, [errnoFn]: errnoPtr });
      const sym = lib.symbols as unknown as Record<string, (...a: number[]) => unknown>;
      libc = {
        flock: (fd, op) => sym.flock!(fd, op) as number,
        errno: () => {
          const p = sym[errnoFn]!() as number | null;
          return p ? read.i32(p as never) : undefined;
        },
      };
      return libc;
    } catch {
      // not this platform's libc
    }
  }
  throw new Error("cannot load the C library for flock(2)");
}

/**
 * Takes an exclusive flock on `fd` without waiting. True when taken; false when another open file
 * (another process) holds it. Throws on any other failure.
 */
export function tryLockExclusive(fd: number): boolean {
  const c = load();
  if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const errno = c.errno();
  if (errno === undefined || WOULD_BLOCK.has(errno)) return false;
  throw new Error(`flock failed (errno ${errno})`);
}
