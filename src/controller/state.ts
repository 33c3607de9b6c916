// What the controller keeps per sandbox beside its record: the open
// namespace handle and the lock that serialises its joins and leaves.
import type { SandboxRecord } from '../driver-api/records.js';
import type { Netns } from '../netlink/index.js';

export interface LiveSandbox {
  rec: SandboxRecord;
  ns: Netns | undefined;
  lock: Promise<unknown>;
  /**
   * Its namespace is still to be numbered in the host (netns-ids.ts): one a
   * CNI runtime handed over, numbered in its first join's crossing.
   */
  unnumbered?: boolean;
}
