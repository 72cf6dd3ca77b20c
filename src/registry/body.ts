// Reading small response bodies (manifests, tag lists, tokens) with a hard limit that is enforced while reading:
// a hostile registry cannot make us buffer more than the limit, whatever Content-Length says or omits.
import type {IncomingMessage} from 'node:http'
import {AirlockError} from '../errors.ts'
import {header} from './transport.ts'

export async function readLimited(body: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(header(body.headers, 'content-length'))
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy()
    throw new AirlockError('TOO_LARGE', `${what} is ${declared} bytes, over the ${limit} byte limit`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      body.destroy()
      throw new AirlockError('TOO_LARGE', `${what} is over the ${limit} byte limit`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/** The media type of a Content-Type header, without parameters. */
export function contentType(body: IncomingMessage): string | undefined {
  const value = header(body.headers, 'content-type')
  return value ? value.split(';')[0]!.trim() : undefined
}
