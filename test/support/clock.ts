// Preload (`node --import ./test/support/clock.ts ...`) that moves the process's clock by $AIRLOCK_CLOCK_OFFSET_MS:
// `new Date()` and `Date.now()` return the real time plus the offset, so a test can run the real CLI "40 days from
// now" against metadata signed today (expiry and grace checks) without faking anything inside the product.
const offset = Number(process.env['AIRLOCK_CLOCK_OFFSET_MS'] ?? '0')
if (!Number.isFinite(offset)) throw new Error(`clock preload: AIRLOCK_CLOCK_OFFSET_MS is not a number`)
const RealDate = Date
class ShiftedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offset)
    else super(...(args as [string]))
  }
  static override now(): number {
    return RealDate.now() + offset
  }
}
globalThis.Date = ShiftedDate as DateConstructor
