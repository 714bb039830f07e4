import { hash, verify } from '@node-rs/argon2';

/**
 * Console passwords: argon2id with the OWASP Password Storage Cheat Sheet's parameters
 * (19 MiB, 2 passes, 1 lane), stored as a PHC string. The algorithm is @node-rs/argon2's
 * default, argon2id.
 */
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | null = null;

/**
 * Spends the time of one verification when the account does not exist, so that an unknown
 * email and a wrong password take alike long and answer alike.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('datong-dummy-password-for-timing');
  await verifyPassword(await dummy, password);
  return false;
}
