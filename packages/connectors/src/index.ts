export * from './miniprogram/index.js';
export * from './taobao/index.js';
export * from './meituan/index.js';
export * from './doudian/index.js';
export * from './kit/crypto.js';
export * from './kit/http.js';
export * from './kit/mapping.js';
export type * from './kit/connector.js';
export * from './kit/rate-limit.js';
