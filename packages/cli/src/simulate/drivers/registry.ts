import type { SimPlatform } from '../model.js';
import { createDoudianDriver } from './doudian.js';
import type { PlatformDriver } from './driver.js';
import { createMallDriver } from './mall.js';
import { createMeituanDriver } from './meituan.js';
import { createTaobaoDriver } from './taobao.js';
import { createYouzanDriver } from './youzan.js';

export type { CreatedItem, DeliveryOutcome, DriverContext, PlatformDriver, StartResult } from './driver.js';

/** One driver per simulated platform. A new platform: a driver file and a line here (and its name in model.ts). */
export const DRIVERS: Readonly<Record<SimPlatform, () => PlatformDriver>> = {
  mall: createMallDriver,
  youzan: createYouzanDriver,
  taobao: createTaobaoDriver,
  doudian: createDoudianDriver,
  meituan: createMeituanDriver,
};
