// JSON schemas of the request bodies nsnet reads, written from Docker's
// Engine API swagger (v1.50) for the fields nsnet uses. Unknown fields are
// allowed, as Go's decoder ignores them and SDKs send fields nsnet does not
// use. Each node carries `goType`, the type dockerd decodes into, so a wrong
// JSON type is reported the way dockerd reports it. `null` is accepted where
// Go would leave the field empty, except inside lists: `[null]` is refused
// (a null struct field is dropped before the check, see validate.ts).

export type Schema = Record<string, unknown>;

const str: Schema = { type: 'string', goType: 'string' };
const bool: Schema = { type: 'boolean', goType: 'bool' };
const int: Schema = { type: 'integer', goType: 'int' };
const nullable = (s: Schema): Schema => ({ ...s, type: [s['type'], 'null'] });
const strList: Schema = nullable({ type: 'array', items: str, goType: '[]string' });
const strMap: Schema = nullable({ type: 'object', additionalProperties: str, goType: 'map[string]string' });

const endpointIPAMConfig: Schema = nullable({
  type: 'object',
  goType: 'network.EndpointIPAMConfig',
  properties: { IPv4Address: str, IPv6Address: str, LinkLocalIPs: strList },
});

export const endpointSettings: Schema = nullable({
  type: 'object',
  goType: 'network.EndpointSettings',
  properties: {
    IPAMConfig: endpointIPAMConfig,
    Links: strList,
    Aliases: strList,
    MacAddress: str,
    DriverOpts: strMap,
    GwPriority: int,
    NetworkID: str,
    EndpointID: str,
    Gateway: str,
    IPAddress: str,
    IPPrefixLen: int,
    IPv6Gateway: str,
    GlobalIPv6Address: str,
    GlobalIPv6PrefixLen: int,
    DNSNames: strList,
  },
});

const ipamConfig: Schema = {
  type: 'object',
  goType: 'network.IPAMConfig',
  properties: { Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: strMap },
};

export const networkCreate: Schema = {
  type: 'object',
  goType: 'network.CreateRequest',
  properties: {
    Name: str,
    CheckDuplicate: bool,
    Driver: str,
    Scope: str,
    EnableIPv4: bool,
    EnableIPv6: bool,
    IPAM: nullable({
      type: 'object',
      goType: 'network.IPAM',
      properties: { Driver: str, Options: strMap, Config: nullable({ type: 'array', items: ipamConfig, goType: '[]network.IPAMConfig' }) },
    }),
    Internal: bool,
    Attachable: bool,
    Ingress: bool,
    ConfigOnly: bool,
    ConfigFrom: nullable({ type: 'object', goType: 'network.ConfigReference', properties: { Network: str } }),
    Options: strMap,
    Labels: strMap,
  },
};

export const networkConnect: Schema = {
  type: 'object',
  goType: 'network.ConnectOptions',
  properties: { Container: str, EndpointConfig: endpointSettings },
};

export const networkDisconnect: Schema = {
  type: 'object',
  goType: 'network.DisconnectOptions',
  properties: { Container: str, Force: bool },
};

const portBinding: Schema = { type: 'object', goType: 'nat.PortBinding', properties: { HostIp: str, HostPort: str } };

const hostConfig: Schema = nullable({
  type: 'object',
  goType: 'container.HostConfig',
  properties: {
    NetworkMode: str,
    PortBindings: nullable({
      type: 'object',
      goType: 'nat.PortMap',
      additionalProperties: nullable({ type: 'array', items: portBinding, goType: '[]nat.PortBinding' }),
    }),
    Dns: strList,
    DnsSearch: strList,
    DnsOptions: strList,
    ExtraHosts: strList,
    Links: strList,
    PublishAllPorts: bool,
  },
});

export const execCreate: Schema = {
  type: 'object',
  goType: 'container.ExecOptions',
  properties: {
    Cmd: strList, Env: strList, AttachStdin: bool, AttachStdout: bool, AttachStderr: bool, Tty: bool,
    DetachKeys: str, Privileged: bool, User: str, WorkingDir: str,
  },
};

export const execStart: Schema = {
  type: 'object',
  goType: 'container.ExecStartOptions',
  properties: { Detach: bool, Tty: bool },
};

export const containerCreate: Schema = {
  type: 'object',
  goType: 'container.CreateRequest',
  properties: {
    Hostname: str,
    Domainname: str,
    Image: str,
    // strslice.StrSlice: a string or a list of strings.
    Cmd: { type: ['array', 'string', 'null'], items: str, goType: 'strslice.StrSlice' },
    Labels: strMap,
    ExposedPorts: nullable({ type: 'object', additionalProperties: { type: 'object', goType: 'struct {}' }, goType: 'nat.PortSet' }),
    HostConfig: hostConfig,
    NetworkingConfig: nullable({
      type: 'object',
      goType: 'network.NetworkingConfig',
      properties: { EndpointsConfig: nullable({ type: 'object', additionalProperties: endpointSettings, goType: 'map[string]*network.EndpointSettings' }) },
    }),
  },
};
