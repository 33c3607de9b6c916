// Sysctls are per namespace only under /proc/sys/net; the addon enters the
// namespace on its own thread to open them. After one of an interface's
// IPv6 settings (net/ipv6/conf/<if>/…), the lane keeps the namespace's
// net/ipv6/conf directory open and opens the next ones from it without
// entering (so they can also run on the calling thread).
import { encodeRequest, Kind } from './wire.js';
import { nsIno, nsPath, run, type Op } from './request.js';
import type { Netns } from './netns.js';

export const sysctlGetOp = (key: string, ns?: Netns): Op<string> => ({
  request: encodeRequest({ kind: Kind.SysctlRead, op: `sysctlGet ${key}`, ns: nsPath(ns), nsIno: nsIno(ns), arg1: key }),
  decode: (r) => r as string,
});

export const sysctlSetOp = (key: string, value: string, ns?: Netns): Op<undefined> => ({
  request: encodeRequest({ kind: Kind.SysctlWrite, op: `sysctlSet ${key}`, ns: nsPath(ns), nsIno: nsIno(ns), arg1: key, arg2: value }),
  decode: () => undefined,
});

export const sysctlGet = async (key: string, ns?: Netns): Promise<string> => run(sysctlGetOp(key, ns));
export const sysctlSet = async (key: string, value: string, ns?: Netns): Promise<undefined> => run(sysctlSetOp(key, value, ns));
