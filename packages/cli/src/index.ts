export { buildProgram, runCli, reportError } from './program.js';
export { startServer, type ServeOptions } from './commands/serve.js';
export { runImport, formatImportReport, type ImportOptions, type ImportReport } from './commands/import.js';
export { runDoctor } from './commands/doctor.js';
export { runMigrate } from './commands/migrate.js';
export { createKey, listKeys, revokeKey, parseScopes } from './commands/keys.js';
export { createConsoleUser, listConsoleUsers, type CreateUserOptions, type CreatedUser } from './commands/users.js';
export { formatBanner, type BannerInfo } from './banner.js';
export type { CliIo, OutStream, Running } from './io.js';
