// Exclusive whole-file locks through the addon (Node has no flock). Not a
// netlink operation, but the addon is reached only from this folder. The
// calls are synchronous on the JS thread: open and a non-blocking flock
// neither wait nor depend on a network namespace (native/file_lock.cc).
import { native } from './native.js';

/** An fd holding an exclusive lock on `path`; throws an Error with `code` EWOULDBLOCK if another open file holds it. */
export const lockFile = (path: string): number => native.lockFile(path);

export const unlockFile = (fd: number): void => native.unlockFile(fd);
