// Proxies from the environment for the other network clients of export (the TUF mirror, Rekor), the same settings
// the registry transport honours: HTTPS_PROXY, HTTP_PROXY and NO_PROXY, in either case, as skopeo and cosign do.
// node:http(s) clients get Node's own proxy-aware agent; fetch clients get undici's EnvHttpProxyAgent.
import type {AgentOptions, Agent} from 'node:http'
import {http, https} from '../util/http-modules.ts'
import type {EnvHttpProxyAgent, fetch as undiciFetch} from 'undici'

/** A one-shot agent (no keep-alive: nothing holds the process open afterwards) that honours the proxy variables. */
export function proxiedAgent(protocol: string, env: NodeJS.ProcessEnv = process.env): Agent {
  const options = {keepAlive: false, proxyEnv: env} as AgentOptions
  return protocol === 'https:' ? new https.Agent(options) : new http.Agent(options)
}

let dispatcher: EnvHttpProxyAgent | undefined

/**
 * fetch() through the proxy the environment names (and directly for NO_PROXY hosts). undici is loaded on first use:
 * importing it costs a quarter of a second of CPU that commands without a TUF mirror should not pay.
 */
export async function proxiedFetch(
  url: string,
  init: {signal?: AbortSignal; headers?: Record<string, string>} = {},
): ReturnType<typeof undiciFetch> {
  const undici = await import('undici')
  dispatcher ??= new undici.EnvHttpProxyAgent()
  return undici.fetch(url, {...init, dispatcher})
}
