// The host's network namespace as a path that outlives this process.
import { statSync } from 'node:fs';

/**
 * A host-mode container's SandboxKey, kept across daemon restarts (as
 * Docker's /var/run/docker/netns/default): init's namespace path when init
 * shares ours, else our own (which names this process, so a restart
 * refreshes it).
 */
export function hostNamespacePath(): string {
  try {
    if (statSync('/proc/1/ns/net').ino === statSync('/proc/self/ns/net').ino) return '/proc/1/ns/net';
  } catch { /* a /proc without pid 1 in view: our own then */ }
  return `/proc/${process.pid}/ns/net`;
}

/** Whether a namespace (by inode) is this process's own: the host's, never a container's to adopt. */
export function isOwnNamespace(ino: number): boolean {
  try {
    return statSync('/proc/self/ns/net').ino === ino;
  } catch {
    return false;
  }
}
