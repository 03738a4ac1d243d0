import { buildContext, type ImageContext } from './context.js';
import type { PromptFolder } from './folder.js';
import type { PromptKind } from './kinds.js';

/** One chat message of an OpenAI-compatible request. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The body of a chat-completions request: the model, the messages and any extra parameters. */
export interface ChatBody {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly [parameter: string]: unknown;
}

/** One line of an OpenAI Batch input file. */
export interface ChatRequest {
  readonly custom_id: string;
  readonly method: 'POST';
  readonly url: '/v1/chat/completions';
  readonly body: ChatBody;
}

/** What a request was made from: enough to turn its response back into a record. */
export interface ManifestEntry {
  readonly custom_id: string;
  readonly kind: PromptKind;
  readonly id: string;
  readonly image: string;
}

/** Options of {@link buildChatRequest}. */
export interface BuildChatRequestOptions {
  /** Model name, e.g. `gpt-4o-2024-08-06`. */
  readonly model: string;
  /** The custom_id; default {@link makeCustomId}(kind, id). */
  readonly customId?: string;
  /** Extra body parameters (`temperature`, `max_tokens`, …), added after `model` and `messages`. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** Append the folder's early-form instruction paragraph to the query (default true when the folder has one). */
  readonly appendInstruction?: boolean;
}

/**
 * The custom_id of a request: `<kind>:<id>` (`conversation:000000033471`). {@link splitCustomId} reverses it.
 */
export function makeCustomId(kind: PromptKind, id: string): string {
  return `${kind}:${id}`;
}

/** Split a custom_id made by {@link makeCustomId}; `undefined` when it has no known kind prefix. */
export function splitCustomId(customId: string): { kind: PromptKind; id: string } | undefined {
  const colon = customId.indexOf(':');
  if (colon === -1) return undefined;
  const kind = customId.slice(0, colon);
  if (kind !== 'conversation' && kind !== 'detail' && kind !== 'complex_reasoning') return undefined;
  return { kind, id: customId.slice(colon + 1) };
}

/**
 * The messages of one request, assembled as the LLaVA paper shows: the system message, then for each few-shot
 * pair in number order a user message (`NNN_caps.txt`) and an assistant message (`NNN_conv.txt`), then the
 * query context as the last user message.
 */
export function buildMessages(folder: PromptFolder, context: string): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: folder.system }];
  for (const example of folder.examples) {
    messages.push({ role: 'user', content: example.user }, { role: 'assistant', content: example.assistant });
  }
  messages.push({ role: 'user', content: context });
  return messages;
}

/**
 * Build the Batch request line for one image and one prompt folder: the query context is built with
 * `buildContext` for the folder's kind (captions only for `conversation`, captions and boxes otherwise).
 *
 * @example
 * ```ts
 * const req = buildChatRequest(folder, { id: '000000000042', image: '000000000042.jpg', captions: ['A dog.'], instances: [] }, { model: 'gpt-4o' });
 * req.custom_id; // 'conversation:000000000042'
 * ```
 */
export function buildChatRequest(
  folder: PromptFolder,
  image: ImageContext,
  options: BuildChatRequestOptions,
): ChatRequest {
  const context = buildContext({
    kind: folder.kind,
    captions: image.captions,
    instances: image.instances,
    ...(options.appendInstruction !== false && folder.instruction ? { instruction: folder.instruction } : {}),
  });
  return {
    custom_id: options.customId ?? makeCustomId(folder.kind, image.id),
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: options.model, messages: buildMessages(folder, context), ...options.parameters },
  };
}

/** One request with its manifest entry. */
export interface BuiltRequest {
  readonly request: ChatRequest;
  readonly manifest: ManifestEntry;
}

/**
 * Build requests for many images and several folders (one request per image and folder), lazily, in image
 * order then folder order.
 */
export function* buildChatRequests(
  folders: readonly PromptFolder[],
  images: Iterable<ImageContext>,
  options: Omit<BuildChatRequestOptions, 'customId'>,
): Generator<BuiltRequest> {
  for (const image of images) {
    for (const folder of folders) {
      const request = buildChatRequest(folder, image, options);
      yield {
        request,
        manifest: { custom_id: request.custom_id, kind: folder.kind, id: image.id, image: image.image },
      };
    }
  }
}
