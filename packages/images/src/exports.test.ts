import { describe, expect, it } from 'vitest';
import * as api from './index.js';

describe('the public exports of @llavakit/images', () => {
  it('are exactly these names (a change here is a change of the public API: add a changeset)', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DEFAULT_MAX_IMAGE_BYTES',
      'IMAGE_STATUSES',
      'MAX_IMAGE_PIXELS',
      'MAX_IMAGE_SIDE',
      'SNIFF_HEAD_BYTES',
      'SNIFF_TAIL_BYTES',
      'ZipIndex',
      'checkImageFiles',
      'checkImages',
      'createImageChecker',
      'createImageResolver',
      'extensionOfFormat',
      'formatImageSource',
      'formatOfExtension',
      'imageRefsFromRecords',
      'imageRefsOfRecord',
      'imageRules',
      'implausibleDimensions',
      'missingListLines',
      'normalizeRef',
      'parseImagePathMode',
      'parseImageSourceSpec',
      'prefixOf',
      'readErrorDiagnostic',
      'renderImagesReport',
      'rewriteImagePath',
      'rewriteUnderRoot',
      'sniffImage',
      'withOutputFailure',
      'writeImagesReportJson',
    ]);
  });
});
