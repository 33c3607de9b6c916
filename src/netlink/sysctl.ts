// Sysctls are per namespace only under /proc/sys/net; the addon enters the
// namespace on its own thread to open them.
import { Kind } from './native.js';
import { nsIno, nsPath, run, type Op } from './request.js';
import type { Netns } from './netns.js';

export const sysctlGetOp = (key: string, ns?: Netns): Op<string> => ({
  request: [Kind.SysctlRead, `sysctlGet ${key}`, nsPath(ns), nsIno(ns), undefined, undefined, key],
  decode: (r) => r as string,
});

export const sysctlSetOp = (key: string, value: string, ns?: Netns): Op<undefined> => ({
  request: [Kind.SysctlWrite, `sysctlSet ${key}`, nsPath(ns), nsIno(ns), undefined, undefined, key, value],
  decode: () => undefined,
});

export const sysctlGet = async (key: string, ns?: Netns): Promise<string> => run(sysctlGetOp(key, ns));
export const sysctlSet = async (key: string, value: string, ns?: Netns): Promise<undefined> => run(sysctlSetOp(key, value, ns));
