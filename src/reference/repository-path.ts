// The repository path grammar of distribution/reference (regexp.go): components of lower-case alphanumerics joined by
// '.', '_', '__' or runs of '-', separated by '/'. One definition for image references, mirror prefixes and the names
// a registry's catalog lists.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/

/** One component of a repository path (`library`, `alpine`, `my_app-2`). */
export function isPathComponent(component: string): boolean {
  return PATH_COMPONENT.test(component)
}

/** A whole repository path (`library/alpine`); the 255-character limit of a full name is the caller's. */
export function isRepositoryPath(path: string): boolean {
  return path.split('/').every(isPathComponent)
}
