import { defineRules } from '@llavakit/diagnostics';

/**
 * The rules this package reports. Ids are stable; severities are defaults.
 *
 * - `images/missing` — the referenced image is in none of the configured sources.
 * - `images/not-an-image` — the file exists but its bytes are no known image format (text, HTML, empty file…).
 * - `images/format-mismatch` — a real image whose format does not match its extension (a GIF named `.jpg`).
 * - `images/truncated` — a JPEG without its end marker, a PNG without `IEND`, a GIF without its trailer, a
 *   WEBP/BMP shorter than its header says.
 * - `images/outside-root` — the path would read outside the configured sources (`..`, absolute path, symlink out).
 * - `images/zip-unsafe-entry` — a zip archive holds an entry whose name is absolute or has `..`; it is never read.
 * - `images/invalid-path` — the path is empty or holds characters no file name can (NUL).
 * - `images/unreadable` — the file exists but reading it failed (permissions, I/O error, broken zip entry).
 * - `images/source-unusable` — a configured source does not exist or is not a readable folder/zip archive.
 * - `images/in-archive` — a path rewrite needs a file on disk but the image lives inside a zip archive.
 * - `images/too-large` — the image (a file, or a zip entry's declared or real inflated size) is over the read limit
 *   (`maxImageBytes`, 64 MiB by default), or a zip entry inflates past the size it declares; it is never read whole.
 * - `images/bad-dimensions` — the header declares dimensions no real image has (0 wide or high, more than 65535 on
 *   a side, or more pixels than Pillow opens without refusing a decompression bomb).
 */
export const imageRules = defineRules({
  missing: {
    id: 'images/missing',
    severity: 'error',
    title: 'Image not found',
    hint: 'Check the --images sources (folders, prefix=folder, zip archives) or drop the record with --missing-images drop.',
    description: 'LLaVA joins the path to --image_folder and crashes in Image.open when the file is not there.',
  },
  notAnImage: {
    id: 'images/not-an-image',
    severity: 'error',
    title: 'File is not an image',
    hint: 'Re-download the file; mirrors sometimes store HTML error pages or empty files under image names.',
  },
  formatMismatch: {
    id: 'images/format-mismatch',
    severity: 'warning',
    title: 'Image format does not match extension',
    hint: 'Re-encode the file to the format its name says, or rename it; some loaders trust the extension.',
  },
  truncated: {
    id: 'images/truncated',
    severity: 'error',
    title: 'Image is truncated',
    hint: 'Re-download the file; a truncated image aborts training unless the loader tolerates it.',
    description: 'A JPEG without the end-of-image marker, a PNG without IEND, or a file shorter than its header says.',
  },
  outsideRoot: {
    id: 'images/outside-root',
    severity: 'error',
    title: 'Image path leaves the image sources',
    hint: 'Image paths must be relative and stay inside the configured sources; no "..", no absolute paths, no symlinks pointing out.',
  },
  zipUnsafeEntry: {
    id: 'images/zip-unsafe-entry',
    severity: 'warning',
    title: 'Unsafe zip entry name',
    hint: 'The archive holds an entry with an absolute name or "..": it is ignored. Rebuild the archive with relative names.',
  },
  invalidPath: {
    id: 'images/invalid-path',
    severity: 'error',
    title: 'Invalid image path',
    hint: 'Give a non-empty relative path, or omit the image key for a text-only record.',
  },
  unreadable: {
    id: 'images/unreadable',
    severity: 'error',
    title: 'Image cannot be read',
    hint: 'Check file permissions and the integrity of the archive.',
  },
  sourceUnusable: {
    id: 'images/source-unusable',
    severity: 'error',
    title: 'Image source cannot be used',
    hint: 'Each --images value must be an existing folder or .zip archive, optionally as prefix=path.',
  },
  tooLarge: {
    id: 'images/too-large',
    severity: 'error',
    title: 'Image is too large to read',
    hint: 'The file or zip entry is larger than the read limit (or inflates past its declared size: a zip bomb). Raise the limit if the image is genuine, else replace it.',
    description:
      'Reading stops at the limit, so memory stays bounded: a zip entry is inflated in small chunks and never beyond the size it declares.',
  },
  badDimensions: {
    id: 'images/bad-dimensions',
    severity: 'error',
    title: 'Image declares impossible dimensions',
    hint: 'The header says 0 pixels, more than 65535 on a side, or more pixels than Pillow will open; the file is corrupt or hostile. Replace it.',
    description:
      'Pillow raises DecompressionBombError above 178956970 pixels, and no trainer can use an image 0 pixels wide.',
  },
  inArchive: {
    id: 'images/in-archive',
    severity: 'error',
    title: 'Image lives inside a zip archive',
    hint: 'Use --image-paths as-is or prefix=…, embed the images, or extract the archive first.',
  },
});
