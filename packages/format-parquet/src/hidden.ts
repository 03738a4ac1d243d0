/**
 * State kept on an object where nothing else sees it: a private field, added by a constructor that returns the
 * object it is given (class fields are defined on whatever the base constructor returns). No key list, symbol list,
 * JSON text, spread copy, `structuredClone` or deep comparison shows it, it lives exactly as long as the object, and
 * adding it costs about what adding a property costs — a fraction of an `Object.defineProperty` of a hidden symbol,
 * which a re-shard did three times per row.
 */
import type { RowOrigin } from './passthrough.js';
import type { TurnColumn } from './turns.js';

class Carrier {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the subclass's private field is to land on `target`
    return target as never;
  }
}

/** A private slot holding a `T`: each call makes a slot of its own (a class with its own private name). */
export function hiddenSlot<T>(): { get(target: object): T | undefined; attach(target: object, value: T): void } {
  class Slot extends Carrier {
    readonly #value: T;
    constructor(target: object, value: T) {
      super(target);
      this.#value = value;
    }
    static get(target: object): T | undefined {
      return #value in target ? (target as Slot).#value : undefined;
    }
    static attach(target: object, value: T): void {
      if (#value in target) throw new TypeError('a hidden slot is attached once');
      new Slot(target, value);
    }
  }
  return { get: Slot.get, attach: Slot.attach };
}

/**
 * What a record read from a copyable row group carries: where its turns are while nobody has read or replaced them
 * (`column` is dropped then, so nothing holds the pages), and the row it came from.
 */
export interface RecordState {
  column: TurnColumn | undefined;
  row: number;
  origin: RowOrigin | undefined;
}

/** The hidden state of records (see {@link RecordState}). */
export const recordState = hiddenSlot<RecordState>();
