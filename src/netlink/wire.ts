// The request format the addon takes (native/request.h, parseRequest in
// native/addon.cc), defined once on this side: every request is built by
// encodeRequest. test/wire.test.ts checks all of it against the addon's own
// `protocol` and `decodeRequest`, so the two sides cannot drift apart silently.

/** Request kinds; the addon's enum is nsnet::Kind (NSNET_KINDS in native/request.h). */
export const Kind = {
  Noop: 0,
  Rtnl: 1,
  NetnsCreate: 2,
  NetnsDelete: 3,
  NetnsInode: 4,
  SysctlRead: 5,
  SysctlWrite: 6,
  NetnsForget: 7,
  NftRun: 8,
  VethJoin: 9,
} as const;
export type KindId = (typeof Kind)[keyof typeof Kind];

/** Tuple positions, in order. encodeRequest writes them in exactly this order. */
export const FIELDS = ['kind', 'op', 'ns', 'nsIno', 'msg', 'fdPatches', 'arg1', 'arg2', 'linkPatches'] as const;
/** One fd patch in the flat fdPatches array; the stride is its length. */
export const FD_PATCH_FIELDS = ['offset', 'path', 'ino'] as const;

/** [kind, op, ns, nsIno, msg?, fdPatches?, arg1?, arg2?, linkPatches?]: see FIELDS. */
export type NativeRequest = [
  kind: number, op: string, ns: string, nsIno: number,
  msg?: Buffer, fdPatches?: (string | number)[], arg1?: string, arg2?: string, linkPatches?: number[],
];

/**
 * Fill the u32 at `offset` of msg with the veth peer ifindex echoed by the
 * request `back` places earlier in the same batch (flat on the wire:
 * [offset, back, ...]).
 */
export interface LinkPatch {
  offset: number;
  back: number;
}

/** Fill the u32 at `offset` of msg with the fd of namespace `path` (checked against `ino`). */
export interface FdPatch {
  offset: number;
  path: string;
  ino: number;
}

export interface RequestFields {
  kind: KindId;
  /** nsnet's name for the operation, used in errors. */
  op: string;
  /** Namespace path ('' = the lane's home), or a run dir / path for the netns kinds. */
  ns?: string;
  /** Inode the namespace had when opened (0 = don't check). */
  nsIno?: number;
  msg?: Buffer;
  fdPatches?: readonly FdPatch[];
  arg1?: string;
  arg2?: string;
  linkPatches?: readonly LinkPatch[];
}

/** A request as the addon parsed it (decodeRequest): absent fields come back empty. */
export interface DecodedRequest {
  kind: number;
  op: string;
  ns: string;
  nsIno: number;
  msg: Buffer;
  fdPatches: FdPatch[];
  arg1: string;
  arg2: string;
  linkPatches: LinkPatch[];
}

/** The addon's own description of the format it parses (`native.protocol`). */
export interface NativeProtocol {
  kinds: Record<string, number>;
  fields: string[];
  fdPatchFields: string[];
  fdPatchStride: number;
  /** The VethJoin parameter block (native/veth_join.h): its size, field offsets and flag bits. */
  vethJoin: { size: number; fields: Record<string, number>; flags: Record<string, number> };
}

export function encodeRequest(r: RequestFields): NativeRequest {
  let fds: (string | number)[] | undefined;
  if (r.fdPatches?.length) {
    fds = [];
    for (const p of r.fdPatches) fds.push(p.offset, p.path, p.ino);
  }
  let links: number[] | undefined;
  if (r.linkPatches?.length) {
    links = [];
    for (const p of r.linkPatches) links.push(p.offset, p.back);
  }
  // A literal, in FIELDS order: this is on every request's path.
  return [r.kind, r.op, r.ns ?? '', r.nsIno ?? 0, r.msg, fds, r.arg1, r.arg2, links];
}
