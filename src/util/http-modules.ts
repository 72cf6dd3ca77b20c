// node:http and node:https without an ES module import. Importing node:http as an ES module makes Node build its
// module namespace by reading every export, and Node 22's `http.WebSocket` getter then loads the whole bundled
// undici: about a tenth of a second at every start, for a class airlock never uses (nodejs/node#57649, #59686).
// process.getBuiltinModule (Node >= 22.3) hands out the same module objects without reading them all.
import type * as Http from 'node:http'
import type * as Https from 'node:https'

export const http: typeof Http = process.getBuiltinModule('node:http')
export const https: typeof Https = process.getBuiltinModule('node:https')
