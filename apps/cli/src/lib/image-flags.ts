import type { ImageAccessOptions } from '@llavakit/convert';
import { Flags } from '@oclif/core';

/** Flags of `llava convert` about images (sources, path rewriting, missing images). */
export const imageFlags = {
  images: Flags.string({
    char: 'i',
    multiple: true,
    summary: 'Image source, in lookup order (repeatable): a folder, prefix=folder, or a zip archive read in place.',
    description:
      'Examples: --images /data/playground (refs joined to it), --images coco/train2017=/data/coco/train2017 (refs under the prefix), --images /data/cc3m/images.zip. Needed by --missing-images, --image-paths relative|absolute and --embed-images.',
  }),
  'missing-images': Flags.option({
    options: ['keep', 'drop', 'fail'] as const,
    default: 'keep' as const,
    summary:
      'With --images: keep (write the record, report the image), drop (reject the record to --rejects), or fail (stop).',
  })(),
  'image-paths': Flags.string({
    summary: 'Output image paths: as-is, relative (to the output file), absolute, or prefix=<p>.',
    default: 'as-is',
  }),
  'max-image-bytes': Flags.integer({
    summary:
      'Largest image read for --embed-images, in bytes (default 64 MiB); larger files and zip entries (or entries inflating past their declared size) are refused with images/too-large.',
    min: 1,
  }),
  'image-root': Flags.string({
    summary: 'Prefix every output image path with this folder (made absolute); shorthand for --image-paths prefix=…',
  }),
};

/** The parsed {@link imageFlags} as the options of `openImageAccess` (the policy lives in @llavakit/convert). */
export function imageAccessOptions(flags: {
  images?: readonly string[] | undefined;
  'missing-images'?: 'keep' | 'drop' | 'fail' | undefined;
  'image-paths'?: string | undefined;
  'image-root'?: string | undefined;
  'max-image-bytes'?: number | undefined;
  'embed-images'?: boolean | undefined;
  output?: string | undefined;
}): ImageAccessOptions {
  return {
    sources: flags.images,
    missingImages: flags['missing-images'],
    imagePaths: flags['image-paths'],
    imageRoot: flags['image-root'],
    maxImageBytes: flags['max-image-bytes'],
    embedImages: flags['embed-images'],
    output: flags.output,
  };
}
