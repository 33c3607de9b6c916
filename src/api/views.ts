// Docker-shaped views: the JSON the Engine API returns for networks and
// containers, built in one place from the controller's and the daemon's
// records.
import type { Controller, NetworkInfo } from '../controller/controller.js';
import type { Daemon } from '../daemon/daemon.js';
import { portSummaries } from '../daemon/container-settings.js';
import { emptyEndpointSettings, type ContainerRecord, type EndpointSettings } from '../daemon/types.js';

export interface ContainerRef {
  id: string;
  name: string;
}

/** NetworkResource as `docker network inspect` shows it. */
export function networkResource(
  c: Controller, rec: NetworkInfo, containers: ((sandboxId: string) => ContainerRef | undefined) | undefined, peers?: { Name: string; IP: string }[],
) {
  // A config-only network has no pools: its configuration as given.
  const config = rec.configOnly ? rec.ipam.config.map((c) => ({ ...c })) : [...rec.pools4, ...rec.pools6].map((p) => {
    const o: Record<string, unknown> = { Subnet: p.subnet };
    if (p.ipRange) o['IPRange'] = p.ipRange;
    if (p.gateway) o['Gateway'] = p.gateway;
    if (Object.keys(p.aux).length) o['AuxiliaryAddresses'] = p.aux;
    return o;
  });
  const out: Record<string, unknown> = {
    Name: rec.name,
    Id: rec.id,
    Created: rec.created,
    Scope: rec.scope,
    Driver: rec.driver,
    EnableIPv4: rec.enableIPv4,
    EnableIPv6: rec.enableIPv6,
    IPAM: { Driver: rec.ipam.driver, Options: Object.keys(rec.ipam.options).length ? rec.ipam.options : null, Config: config },
    Internal: rec.internal,
    Attachable: rec.attachable,
    Ingress: rec.ingress,
    ConfigFrom: { Network: rec.configFrom ?? '' },
    ConfigOnly: rec.configOnly,
    Containers: {},
    Options: rec.options,
    Labels: rec.labels,
  };
  if (containers) {
    const map: Record<string, unknown> = {};
    for (const e of c.network(rec.id).endpoints()) {
      const ep = e.info();
      const who = ep.sandboxId ? containers(ep.sandboxId) : undefined;
      map[who ? who.id : `ep-${ep.id}`] = {
        Name: who ? who.name : ep.name,
        EndpointID: ep.id,
        MacAddress: ep.mac ?? '',
        IPv4Address: ep.ipv4 ?? '',
        IPv6Address: ep.ipv6 ?? '',
      };
    }
    out['Containers'] = map;
    // Docker's Peers of an overlay network: the hosts with endpoints on it.
    if (rec.scope === 'global') out['Peers'] = peers ?? [];
  }
  return out;
}

export function containerJson(d: Daemon, r: ContainerRecord) {
  const sb = r.NetworkSettings.SandboxID ? d.controller.sandbox(r.NetworkSettings.SandboxID)?.info() : undefined;
  const dir = sb?.dir ?? '';
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: r.State,
    Image: r.Image,
    ResolvConfPath: dir ? `${dir}/resolv.conf` : '',
    HostnamePath: dir ? `${dir}/hostname` : '',
    HostsPath: dir ? `${dir}/hosts` : '',
    LogPath: '',
    Name: r.Name,
    RestartCount: 0,
    Driver: 'nsnet',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: r.HostConfig,
    GraphDriver: { Data: null, Name: 'nsnet' },
    Mounts: [],
    Config: r.Config,
    NetworkSettings: {
      Bridge: '',
      SandboxID: r.NetworkSettings.SandboxID,
      SandboxKey: r.NetworkSettings.SandboxKey,
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: r.NetworkSettings.Ports,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      ...legacyFields(r.NetworkSettings.Networks['bridge']),
      Networks: completeNetworks(r),
    },
  };
}

/**
 * Every field of EndpointSettings (API 1.50), also for records stored by an
 * older nsnet: SDKs index these keys without checking (docker-py reads
 * Aliases, Links, IPAMConfig, DriverOpts, MacAddress).
 */
function completeNetworks(r: ContainerRecord): Record<string, EndpointSettings> {
  return Object.fromEntries(Object.entries(r.NetworkSettings.Networks).map(([k, s]) => {
    const { DesiredMacAddress: _desired, ...shown } = s;
    return [k, { ...emptyEndpointSettings(), ...shown }];
  }));
}

/** Top-level copies of the default bridge endpoint's data, as Docker still returns them. */
function legacyFields(s: EndpointSettings | undefined) {
  return {
    EndpointID: s?.EndpointID ?? '',
    Gateway: s?.Gateway ?? '',
    GlobalIPv6Address: s?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: s?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: s?.IPAddress ?? '',
    IPPrefixLen: s?.IPPrefixLen ?? 0,
    IPv6Gateway: s?.IPv6Gateway ?? '',
    MacAddress: s?.MacAddress ?? '',
  };
}

/** Docker's units.HumanDuration, as `docker ps` shows it. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function containerSummary(r: ContainerRecord) {
  const since = (t: string) => humanDuration(Date.now() - Date.parse(t));
  const status = r.State.Running ? `Up ${since(r.State.StartedAt)}${r.State.Paused ? ' (Paused)' : ''}`
    : r.State.Status === 'created' ? 'Created' : `Exited (${r.State.ExitCode}) ${since(r.State.FinishedAt)} ago`;
  return {
    Id: r.Id,
    Names: [r.Name],
    Image: r.Image,
    ImageID: '',
    Command: [r.Path, ...r.Args].join(' ').trim(),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    Ports: portSummaries(r.NetworkSettings.Ports),
    Labels: r.Config.Labels,
    State: r.State.Status,
    Status: status,
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode },
    NetworkSettings: { Networks: completeNetworks(r) },
    Mounts: [],
  };
}

