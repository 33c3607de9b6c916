// Container records as the Docker Engine API shows them (networking part).

export interface EndpointIPAMConfig {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[];
}

export interface EndpointSettings {
  IPAMConfig?: EndpointIPAMConfig | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  GwPriority?: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames?: string[] | null;
  /** The MAC the user asked for (moby's DesiredMacAddress): kept in the record, never shown; MacAddress is the one in use. */
  DesiredMacAddress?: string;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'exited';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerRecord {
  Id: string;
  Name: string; // with the leading slash, as Docker has it
  Created: string;
  Image: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Config: {
    Hostname: string;
    Domainname: string;
    Image: string;
    Cmd: string[] | null;
    Labels: Record<string, string>;
    ExposedPorts?: Record<string, object> | null;
    [k: string]: unknown;
  };
  HostConfig: {
    NetworkMode: string;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    ExtraHosts: string[] | null;
    Links?: string[] | null;
    /** docker run -P: every exposed port without a binding is published on an ephemeral host port. */
    PublishAllPorts?: boolean;
    [k: string]: unknown;
  };
  NetworkSettings: {
    SandboxID: string;
    SandboxKey: string;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
    Networks: Record<string, EndpointSettings>;
  };
}

export const emptyEndpointSettings = (): EndpointSettings => ({
  IPAMConfig: null,
  Links: null,
  Aliases: null,
  MacAddress: '',
  DriverOpts: null,
  GwPriority: 0,
  NetworkID: '',
  EndpointID: '',
  Gateway: '',
  IPAddress: '',
  IPPrefixLen: 0,
  IPv6Gateway: '',
  GlobalIPv6Address: '',
  GlobalIPv6PrefixLen: 0,
  DNSNames: null,
});
