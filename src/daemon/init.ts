// Daemon start: build controller options from the config, restore, make sure
// the predefined networks exist, and recreate the default bridge network
// (the seed's initNetworkController / initBridgeDriver).
import { startController, type Controller } from '../controller/controller.js';
import { BridgeOption } from '../driver-api/options.js';
import type { Store } from '../store/store.js';
import type { DaemonConfig } from './config.js';

/** `activeFrom` picks the sandboxes to keep from the store, read once the data directory is claimed. */
export async function initNetworkController(config: DaemonConfig, activeFrom: (store: Store) => Iterable<string>): Promise<Controller> {
  const c = await startController({
    dataDir: config.dataDir,
    runDir: config.runDir,
    mtu: config.bridge.mtu,
    ...(config.advertiseAddress ? { advertiseAddress: config.advertiseAddress } : {}),
    ...(config.defaultPools ? { defaultPools: config.defaultPools } : {}),
  }, activeFrom);
  try {
    if (!c.networkByName('none')) await c.newNetwork({ name: 'none', driver: 'null', builtin: true });
    if (!c.networkByName('host')) await c.newNetwork({ name: 'host', driver: 'host', builtin: true });
    await initBridgeNetwork(c, config);
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}

/** Deletes and recreates the default "bridge" network from the config, unless live containers still use it. */
export async function initBridgeNetwork(c: Controller, config: DaemonConfig): Promise<void> {
  const existing = c.networkByName('bridge');
  if (existing) {
    if (existing.endpoints().length) return; // live-restored containers keep it as it is
    await existing.delete();
  }
  const b = config.bridge;
  await c.newNetwork({
    name: 'bridge',
    driver: 'bridge',
    builtin: true,
    options: {
      [BridgeOption.DefaultBridge]: 'true',
      [BridgeOption.EnableICC]: String(b.icc),
      [BridgeOption.EnableIPMasquerade]: String(b.masquerade),
      [BridgeOption.HostBindingIPv4]: b.hostBindingIPv4,
      [BridgeOption.Name]: b.name,
      [BridgeOption.Mtu]: String(b.mtu),
    },
    ipam: { driver: 'default', config: b.subnet ? [{ Subnet: b.subnet, ...(b.gateway ? { Gateway: b.gateway } : {}) }] : [] },
  });
}
