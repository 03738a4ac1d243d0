import { defineRules } from '@llavakit/diagnostics';

/** Rules raised by the built-in target formats (beyond the pipeline's `writerRules`). */
export const formatWriterRules = defineRules({
  badMeta: {
    id: 'format/bad-meta',
    severity: 'error',
    title: 'The llava_meta column cannot be read',
    hint: 'llava_meta must be the JSON string llavakit wrote; drop the column to read the record without it.',
  },
  roleOrder: {
    id: 'sharegpt/role-order',
    severity: 'error',
    title: 'LLaMA-Factory would skip this example',
    hint: 'LLaMA-Factory takes human/observation at odd and gpt/function_call at even positions, an even number of turns in all; fix the conversation (or validate it with `llava validate`).',
  },
  tooManyImages: {
    id: 'openai/too-many-images',
    severity: 'error',
    title: 'More images than OpenAI fine-tuning accepts in one example',
    hint: 'OpenAI takes at most 10 images per example (-O maxImages=<n> for other limits, e.g. 64 on Azure); split the conversation.',
  },
  imageTooLarge: {
    id: 'openai/image-too-large',
    severity: 'error',
    title: 'Image larger than OpenAI fine-tuning accepts',
    hint: 'OpenAI takes images of at most 10 MB; resize or recompress the image.',
  },
  imageType: {
    id: 'openai/image-type',
    severity: 'error',
    title: 'Image type OpenAI fine-tuning does not accept',
    hint: 'OpenAI takes JPEG, PNG and WEBP images only; convert the image.',
  },
  imageInAssistant: {
    id: 'openai/image-in-assistant',
    severity: 'error',
    title: 'Image in an assistant turn',
    hint: 'OpenAI fine-tuning accepts images in user messages only; move the <image> token to a human turn.',
  },
  imageUnreadable: {
    id: 'openai/image-unreadable',
    severity: 'error',
    title: 'Image to embed could not be read',
    hint: 'Point --image-root / the image sources at the folder holding the images, or drop --embed-images.',
  },
  video: {
    id: 'openai/video',
    severity: 'error',
    title: 'Video in an OpenAI example',
    hint: 'OpenAI chat fine-tuning takes text and images only; convert video records to sharegpt, swift or messages.',
  },
  imagesPerFile: {
    id: 'openai/examples-with-images',
    severity: 'warning',
    title: 'More examples with images than one OpenAI training file accepts',
    hint: 'OpenAI takes at most 50,000 examples that contain images per training file; split the output.',
  },
});

/** Rules of `dataset_info.json` writing. */
export const datasetInfoRules = defineRules({
  invalid: {
    id: 'dataset-info/invalid',
    severity: 'error',
    kind: 'usage',
    title: 'dataset_info.json cannot be merged',
    hint: 'Fix or remove the existing dataset_info.json (it must be a JSON object of dataset entries).',
  },
  unsupported: {
    id: 'dataset-info/unsupported',
    severity: 'error',
    kind: 'usage',
    title: 'No dataset_info.json entry for this output',
    hint: 'Write --dataset-info with --to sharegpt and an output file (not standard output).',
  },
});
