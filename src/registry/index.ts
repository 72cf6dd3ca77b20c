// The OCI Distribution client. Everything outside src/registry/ imports from here.
export {parseChallenges, type Challenge} from './auth.ts'
export {MAX_CATALOG_NAMES, MAX_CATALOG_PAGES, type CatalogOptions} from './catalog.ts'
export {RegistryClient, type RegistryOptions} from './client.ts'
export type {Credentials} from './credentials.ts'
export {isRetryableError} from './errors.ts'
export {referrersTag, type ReferrersCapability} from './referrers.ts'
export {Repository} from './repository.ts'
export {Semaphore} from './semaphore.ts'
