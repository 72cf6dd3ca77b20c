// `--report FILE.html|FILE.md`: the format comes from the extension, and the file appears whole or not at all
// (written to a temporary name beside it, synced, renamed; removed on failure or interruption).
import {open, rename} from 'node:fs/promises'
import {dirname, extname} from 'node:path'
import {AirlockError, toAirlockError} from '../errors.ts'
import {fsyncDir, partialName, removeOnSignal, removeQuiet} from '../util/files.ts'
import type {ReportDocument} from './document.ts'
import {renderHtml} from './html.ts'
import {renderMarkdown} from './markdown.ts'

export type ReportFormat = 'html' | 'markdown'

/** The format FILE's extension names; one line naming the accepted ones otherwise. */
export function reportFormat(file: string): ReportFormat {
  const ext = extname(file).toLowerCase()
  if (ext === '.html' || ext === '.htm') return 'html'
  if (ext === '.md' || ext === '.markdown') return 'markdown'
  throw new AirlockError('USAGE', `--report ${file}: unknown report format ${ext ? `"${ext}"` : '(no extension)'}`, {
    hint: 'name the file .html (a page to file or print) or .md (Markdown for a change ticket)',
  })
}

export function renderReport(doc: ReportDocument, format: ReportFormat): string {
  return format === 'html' ? renderHtml(doc) : renderMarkdown(doc)
}

/** Renders and writes the report atomically; replaces an older report of the same name. */
export async function writeReport(file: string, doc: ReportDocument): Promise<void> {
  const content = renderReport(doc, reportFormat(file))
  const temp = partialName(file)
  const unregister = removeOnSignal(temp)
  try {
    const fh = await open(temp, 'wx', 0o644)
    try {
      await fh.writeFile(content, 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(temp, file)
    await fsyncDir(dirname(file))
  } catch (error) {
    await removeQuiet(temp)
    const e = toAirlockError(error, 'IO_ERROR')
    throw new AirlockError(e.code, `cannot write the report ${file}: ${e.message}`, {cause: error})
  } finally {
    unregister()
  }
}
