/** The tenant a single-company installation uses (created by the bootstrap). */
export const DEFAULT_TENANT_ID = 'ten_default';
