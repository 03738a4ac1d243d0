import { isAbsolute, join, resolve } from 'node:path';
import type { ImageAccess } from '@llavakit/format';
import { Flags } from '@oclif/core';

/** Flags of `llava convert` about images (sources, path rewriting, missing images, embedding). */
export const imageFlags = {
  'image-root': Flags.string({ summary: 'Prefix every output image path with this folder.' }),
};

/** Build the image access of a conversion from the parsed {@link imageFlags}. */
export async function imageAccessFromFlags(flags: { 'image-root'?: string | undefined }): Promise<{
  images: ImageAccess;
  close: () => Promise<void>;
}> {
  const imageRoot = flags['image-root'];
  const images: ImageAccess = {
    rewrite: imageRoot ? (path) => (isAbsolute(path) ? path : join(resolve(imageRoot), path)) : (path) => path,
    readBytes: async () => undefined,
  };
  return { images, close: async () => {} };
}
