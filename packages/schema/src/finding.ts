import type { Diagnostic, RuleMeta } from '@llavakit/diagnostics';

/** A finding before it is dressed as a diagnostic (kept small: findings are rare). */
export interface Finding {
  readonly rule: RuleMeta;
  readonly pointer: string;
  readonly message: string;
  readonly data?: Record<string, unknown>;
  /** Character index inside the string at the pointer to centre the excerpt on. */
  readonly at?: number;
  /** Overrides the rule's default severity. */
  readonly severity?: Diagnostic['severity'];
}
