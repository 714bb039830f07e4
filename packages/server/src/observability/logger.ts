import pino, { type Logger, type LoggerOptions } from 'pino';

/** Paths never written to logs (STYLE.md §G). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.totpCode',
  '*.recoveryCode',
  '*.csrfToken',
  'req.headers["x-csrf-token"]',
  '*.secret',
  '*.appSecret',
  '*.token',
  '*.writeKey',
  '*.key',
  '*.phone',
  '*.email',
  '*.openid',
  '*.unionid',
  '*.session_key',
  '*.sessionKey',
  '*.encryptedData',
  'body',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'datong' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
