// (a module of its own, with no imports: the worker threads' plain path counts these without loading zod)

/** Summary counter names used by {@link placeImages}. */
export const IMAGE_POLICY_EVENTS = {
  kept: 'image-token:kept',
  front: 'image-token:moved-to-front',
  added: 'image-token:added-at-front',
  stripped: 'image-token:stripped',
  parts: 'image-token:content-parts',
  repeated: 'images:repeated-per-token',
} as const;
