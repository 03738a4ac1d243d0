/** What several built-in formats share: record diagnostics, `<image>`/`<video>` placement, the llava_meta column. */
export * from './meta-column.js';
export * from './record-diagnostics.js';
export * from './token-placement.js';
export * from './values.js';
