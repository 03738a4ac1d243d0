/**
 * The three kinds of LLaVA-Instruct data, each with its own prompt folder: multi-turn `conversation`
 * (captions only), `detail` description and `complex_reasoning` (captions and boxes).
 */
export type PromptKind = 'conversation' | 'detail' | 'complex_reasoning';

/** All prompt kinds, in LLaVA's order. */
export const promptKinds: readonly PromptKind[] = ['conversation', 'detail', 'complex_reasoning'];

/** The folder name LLaVA uses for each kind (`playground/data/prompts/<folder>`). */
export const promptFolderNames: Readonly<Record<PromptKind, string>> = {
  conversation: 'conversation',
  detail: 'detail_description',
  complex_reasoning: 'complex_reasoning',
};

/**
 * Turn a kind name or a folder name into a {@link PromptKind}: `conversation`, `detail`, `detail_description`,
 * `complex_reasoning` (also `complex`). Returns `undefined` for anything else.
 */
export function toPromptKind(name: string): PromptKind | undefined {
  switch (name) {
    case 'conversation':
      return 'conversation';
    case 'detail':
    case 'detail_description':
      return 'detail';
    case 'complex':
    case 'complex_reasoning':
      return 'complex_reasoning';
    default:
      return undefined;
  }
}

/** True for kinds whose context includes the object boxes (`detail`, `complex_reasoning`). */
export function usesBoxes(kind: PromptKind): boolean {
  return kind !== 'conversation';
}

/**
 * The 16 detailed-description instructions of the LLaVA paper (arXiv 2304.08485, appendix "Data"); a detail
 * record's question is drawn from this pool. Listed without a trailing period, as in the paper.
 */
export const detailInstructions: readonly string[] = [
  'Describe the following image in detail',
  'Provide a detailed description of the given image',
  'Give an elaborate explanation of the image you see',
  'Share a comprehensive rundown of the presented image',
  'Offer a thorough analysis of the image',
  'Explain the various aspects of the image before you',
  'Clarify the contents of the displayed image with great detail',
  'Characterize the image using a well-detailed description',
  'Break down the elements of the image in a detailed manner',
  'Walk through the important details of the image',
  'Portray the image with a rich, descriptive narrative',
  'Narrate the contents of the image with precision',
  'Analyze the image in a comprehensive and detailed manner',
  'Illustrate the image through a descriptive explanation',
  'Examine the image closely and share its details',
  'Write an exhaustive depiction of the given image',
];
