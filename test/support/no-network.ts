// Preload (`node --import ./test/support/no-network.ts ...`) that makes every network attempt throw and records it.
// net.Socket#connect (covers http, https, tls, undici's fetch), dns.lookup/resolve, http(s).request/get and
// tls.connect are replaced; attempts are appended, one JSON line each, to $AIRLOCK_NETWORK_LOG.
import {appendFileSync} from 'node:fs'
import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'

const log = process.env['AIRLOCK_NETWORK_LOG']
function blocked(what: string, detail: unknown): never {
  const line = JSON.stringify({
    what,
    detail: String(typeof detail === 'object' ? JSON.stringify(detail) : detail),
    pid: process.pid,
  })
  if (log) appendFileSync(log, line + '\n')
  throw new Error(`no-network: ${what} attempted (${line})`)
}

const socketConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  // IPC pipes (a path, no port) are local; everything with a port or host is network.
  const first = args[0] as {path?: string} | string | number
  if (typeof first === 'object' && first !== null && typeof first.path === 'string' && !('port' in first))
    return socketConnect.apply(this, args as never)
  return blocked('net.Socket.connect', first)
} as typeof net.Socket.prototype.connect
for (const name of ['lookup', 'resolve', 'resolve4', 'resolve6'] as const) {
  ;(dns as unknown as Record<string, unknown>)[name] = (host: unknown) => blocked(`dns.${name}`, host)
  ;(dns.promises as unknown as Record<string, unknown>)[name] = async (host: unknown) =>
    blocked(`dns.promises.${name}`, host)
}
for (const [mod, label] of [
  [http, 'http'],
  [https, 'https'],
] as const) {
  ;(mod as unknown as Record<string, unknown>)['request'] = (url: unknown) => blocked(`${label}.request`, url)
  ;(mod as unknown as Record<string, unknown>)['get'] = (url: unknown) => blocked(`${label}.get`, url)
}
;(tls as unknown as Record<string, unknown>)['connect'] = (opts: unknown) => blocked('tls.connect', opts)
globalThis.fetch = (async (url: unknown) => blocked('fetch', url)) as typeof fetch
