/**
 * Vocabulary and sentence builders for synthetic LLaVA-style text. Everything is composed from small word lists
 * with the record's own {@link Rng}, so output is deterministic and cheap to produce.
 */

import { detailInstructions } from '@llavakit/prompts';
import type { Rng } from './rng.js';

export const COLORS = [
  'red',
  'blue',
  'white',
  'black',
  'green',
  'yellow',
  'orange',
  'brown',
  'gray',
  'pink',
  'purple',
  'silver',
] as const;

export const OBJECTS = [
  'bus',
  'cat',
  'dog',
  'kite',
  'surfboard',
  'skateboard',
  'frisbee',
  'pizza',
  'umbrella',
  'bicycle',
  'motorcycle',
  'train',
  'truck',
  'laptop',
  'clock',
  'vase',
  'bench',
  'giraffe',
  'zebra',
  'elephant',
  'horse',
  'sandwich',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'teddy bear',
  'toilet',
  'refrigerator',
  'couch',
  'bed',
  'airplane',
  'boat',
  'cake',
  'donut',
  'banana',
  'broccoli',
  'suitcase',
  'backpack',
  'handbag',
  'tennis racket',
  'baseball bat',
] as const;

const SUBJECTS = [
  'a man',
  'a woman',
  'a young boy',
  'a little girl',
  'two people',
  'a group of people',
  'an elderly man',
  'a skier',
  'a surfer',
  'a tennis player',
  'a chef',
  'a cyclist',
  'a family',
  'several children',
  'a dog',
  'a cat',
  'a couple',
  'a baseball player',
  'a police officer',
  'a street vendor',
] as const;

const ACTIONS = [
  'standing next to',
  'sitting on',
  'holding',
  'riding',
  'walking past',
  'looking at',
  'leaning against',
  'carrying',
  'playing with',
  'waiting beside',
  'reaching for',
  'posing with',
] as const;

const PLACES = [
  'on a busy city street',
  'at a sandy beach',
  'in a cozy kitchen',
  'in a grassy park',
  'near a train station',
  'in a snowy field',
  'inside a small café',
  'in a living room',
  'at an outdoor market',
  'on a quiet sidewalk',
  'by the river',
  'in a crowded plaza',
  'at the airport',
  'on a tennis court',
  'in a fenced enclosure',
] as const;

const ADJECTIVES = [
  'large',
  'small',
  'colorful',
  'wooden',
  'old',
  'modern',
  'shiny',
  'worn',
  'tall',
  'bright',
  'crowded',
  'quiet',
] as const;

const CONNECTORS = [
  'In addition,',
  'Furthermore,',
  'Meanwhile,',
  'Overall,',
  'Nearby,',
  'In the background,',
  'On the left side,',
  'Towards the right,',
  'Interestingly,',
  'As a result,',
] as const;

/** Rare flourishes that put non-ASCII text, quotes and backslashes into answers. */
const FLOURISHES = [
  'The scene has a relaxed, almost café-like atmosphere.',
  'It looks like a typical weekend afternoon — calm and unhurried.',
  'A sign in the corner reads “Fresh Coffee” in hand-painted letters.',
  'One shirt is printed with the emoticon "\\o/" in bold letters.',
  'The banner says "Welcome" above the entrance.',
  'A small sticker shows a smiling face 🙂 on the window.',
  'The menu board lists crème brûlée and a croissant for €3.',
  'Someone has chalked the path C:\\photos\\summer on the wall as a joke.',
  'A dog 🐶 watches the people with great interest.',
  'The label on the box says “Fragile — handle with care”.',
  'Its naïve, hand-drawn style gives the poster a playful look.',
  'The street sign reads "Main St." in white letters.',
] as const;

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** One descriptive English sentence about a photo. */
export function sentence(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
      return `${cap(rng.pick(SUBJECTS))} is ${rng.pick(ACTIONS)} ${article(rng.pick(ADJECTIVES))} ${rng.pick(OBJECTS)} ${rng.pick(PLACES)}.`;
    case 1:
      return `${rng.pick(CONNECTORS)} there is ${article(rng.pick(COLORS))} ${rng.pick(OBJECTS)} that appears to be ${rng.pick(ADJECTIVES)} and well kept.`;
    case 2:
      return `The ${rng.pick(OBJECTS)} is positioned close to the ${rng.pick(OBJECTS)}, suggesting that ${rng.pick(SUBJECTS)} may have placed it there recently.`;
    case 3:
      return `${rng.pick(CONNECTORS)} ${rng.pick(SUBJECTS)} can be seen ${rng.pick(ACTIONS)} ${article(rng.pick(OBJECTS))}, adding a sense of activity to the scene.`;
    case 4:
      return `The image captures ${article(rng.pick(ADJECTIVES))} setting ${rng.pick(PLACES)}, with ${rng.range(2, 9)} ${rng.pick(OBJECTS)}s visible in total.`;
    default:
      return rng.chance(0.25)
        ? rng.pick(FLOURISHES)
        : `Overall, the ${rng.pick(COLORS)} tones of the ${rng.pick(OBJECTS)} stand out against the ${rng.pick(ADJECTIVES)} surroundings.`;
  }
}

/** `count` sentences joined by spaces. */
export function sentences(rng: Rng, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(sentence(rng));
  return out.join(' ');
}

/** Paragraphs separated by a blank line (`\n\n`), as in GPT-4 detail answers. */
export function paragraphs(rng: Rng, count: number, min: number, max: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(sentences(rng, rng.range(min, max)));
  return out.join('\n\n');
}

/** A conversation-style question and its answer (LLaVA conversation_58k flavour). */
export function conversationTurn(rng: Rng): [string, string] {
  const obj = rng.pick(OBJECTS);
  const color = rng.pick(COLORS);
  switch (rng.int(7)) {
    case 0:
      return [
        `What color is the ${obj} in the image?`,
        `The ${obj} in the image is ${color}. ${sentences(rng, rng.range(2, 5))}`,
      ];
    case 1:
      return [
        `How many ${obj}s are there in the image?`,
        `There are ${rng.range(2, 7)} ${obj}s in the image. ${sentences(rng, rng.range(2, 5))}`,
      ];
    case 2:
      return [
        `What is the person doing with the ${obj}?`,
        `The person is ${rng.pick(ACTIONS)} the ${obj}. ${sentences(rng, rng.range(2, 5))}`,
      ];
    case 3:
      return [
        `Where is the ${obj} positioned in the image?`,
        `The ${obj} is positioned ${rng.pick(PLACES)}, close to the ${rng.pick(OBJECTS)}. ${sentences(rng, rng.range(2, 5))}`,
      ];
    case 4:
      return [
        `Is the ${obj} ${rng.pick(ADJECTIVES)}?`,
        `${rng.chance(0.5) ? 'Yes' : 'No'}, the ${obj} appears to be ${rng.pick(ADJECTIVES)}. ${sentences(rng, rng.range(3, 5))}`,
      ];
    case 5:
      return [`What can you infer about the setting of this photo?`, paragraphs(rng, rng.range(1, 3), 3, 5)];
    default:
      return [`Can you describe the ${obj} in more detail?`, sentences(rng, rng.range(4, 8))];
  }
}

/** Detailed-description instructions (the paper's pool plus phrasings seen in the released files). */
export const DETAIL_PROMPTS: readonly string[] = [
  ...detailInstructions,
  'What do you see happening in this image?',
  'What are the key elements in this picture?',
];

/** Complex-reasoning questions (LLaVA complex_reasoning_77k flavour). */
export function reasoningQuestion(rng: Rng): string {
  const obj = rng.pick(OBJECTS);
  switch (rng.int(6)) {
    case 0:
      return `What skill set might someone need to use the ${obj} like this?`;
    case 1:
      return `Why might the ${obj} be placed in this location?`;
    case 2:
      return `What challenges could the people in this scene face with the ${obj}?`;
    case 3:
      return `What is the purpose of the ${obj} in this setting?`;
    case 4:
      return `What can be inferred about the time of day from the image?`;
    default:
      return `What safety precautions should be taken around the ${obj}?`;
  }
}

/** Concise-description instruction pool (pretraining chat files). */
export const BRIEF_PROMPTS = [
  'Describe the image concisely.',
  'Provide a brief description of the given image.',
  'Offer a succinct explanation of the picture presented.',
  'Summarize the visual content of the image.',
  'Give a short and clear explanation of the subsequent image.',
  'Share a concise interpretation of the image provided.',
  'Present a compact description of the photo’s key features.',
  'Relay a brief, clear account of the picture shown.',
  'Render a clear and concise summary of the photo.',
  'Write a terse but informative summary of the picture.',
  'Create a compact narrative representing the image presented.',
  'What is this?',
  'What is in the photo?',
  'Give a brief description of the image.',
  'Describe the provided image briefly.',
] as const;

const CAPTION_NOUNS = [
  'olive oil',
  'a dragon kite',
  'mattress topper',
  'wedding dress',
  'the skyline',
  'a grey watch',
  'floral watercolor',
  'mountain lake',
  'vintage car',
  'christmas tree',
  'coffee cup',
  'black dress',
  'wooden house',
  'city street',
  'football player',
  'actor',
  'pop artist',
  'beach',
  'sunset',
  'living room',
  'kitchen',
  'birthday cake',
  'puppy',
] as const;

const CAPTION_TAILS = [
  'stock photo',
  'stock images',
  'in the blue sky',
  'at night',
  'on a white background',
  'with red hair',
  'during the festival',
  'in the garden',
  'for sale',
  'at the premiere',
  'in winter',
  'on the beach',
] as const;

/**
 * A caption in CC-3M / BLIP style: lower case, tokenised, with a space before punctuation
 * (`"olive oil is a healthy ingredient used liberally ."`).
 */
export function tokenisedCaption(rng: Rng, punctuate: boolean): string {
  const words = [rng.pick(CAPTION_NOUNS), rng.pick(['is', 'with', 'and', 'of', 'near']), rng.pick(ADJECTIVES)];
  const extra = rng.range(0, 4);
  for (let i = 0; i < extra; i++) words.push(rng.pick(CAPTION_NOUNS));
  words.push(rng.pick(CAPTION_TAILS));
  if (rng.chance(0.15)) words.push(`- ${rng.range(1, 12)} - inch`);
  let text = words.join(' ');
  if (rng.chance(0.1)) text = text.replace(' and ', " 's ");
  if (punctuate) text += rng.chance(0.85) ? ' .' : ' !';
  return text;
}

/** A short VQA-style answer (single word or phrase). */
export function shortAnswer(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return rng.chance(0.5) ? 'Yes' : 'No';
    case 1:
      return String(rng.range(1, 12));
    case 2:
      return cap(rng.pick(COLORS));
    case 3:
      return rng.pick(OBJECTS);
    default:
      return `${rng.pick(ADJECTIVES)} ${rng.pick(OBJECTS)}`;
  }
}

/** A short VQA-style question about an image. */
export function shortQuestion(rng: Rng): string {
  const obj = rng.pick(OBJECTS);
  switch (rng.int(6)) {
    case 0:
      return `What color is the ${obj}?`;
    case 1:
      return `How many ${obj}s are there?`;
    case 2:
      return `Is the ${obj} to the left or to the right of the ${rng.pick(OBJECTS)}?`;
    case 3:
      return `Are there ${obj}s or ${rng.pick(OBJECTS)}s that are ${rng.pick(COLORS)}?`;
    case 4:
      return `What is the ${obj} made of?`;
    default:
      return `Which kind of ${rng.pick(['vehicle', 'animal', 'furniture', 'food'])} is shown?`;
  }
}

const TOPICS = [
  'a Python function',
  'a cover letter',
  'a SQL query',
  'a marketing plan',
  'a React component',
  'a poem',
  'a regular expression',
  'an email to my landlord',
  'a workout routine',
  'a bash script',
  'a product description',
] as const;

const LANG_SNIPPETS = [
  '请用中文解释一下这个问题。',
  '¿Puedes explicarlo en español, por favor?',
  '이 코드를 설명해 주세요.',
  'Könntest du das bitte auf Deutsch übersetzen?',
  'Пожалуйста, объясни это подробнее.',
  'これを日本語で説明してください。',
] as const;

/** A ShareGPT-style user message (varied topics, some non-English, some with code). */
export function chatQuestion(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return `Can you write ${rng.pick(TOPICS)} that ${rng.pick(['handles errors', 'is easy to read', 'is short', 'uses async/await', 'explains each step'])}?`;
    case 1:
      return rng.pick(LANG_SNIPPETS);
    case 2:
      return `Here is my code:\n\n\`\`\`python\ndef load(path):\n    with open(path) as f:\n        return f.read().split("\\n")\n\`\`\`\n\nWhy does it fail on Windows paths like "C:\\\\data\\\\file.txt"?`;
    case 3:
      return 'continue';
    default:
      return `What is the difference between ${rng.pick(TOPICS)} and ${rng.pick(TOPICS)}? Please give examples.`;
  }
}

/** A JavaScript code block quoted in answers (contains a template literal, hence the split `$` + `{`). */
const JS_SNIPPET = [
  '```javascript',
  'const data = JSON.parse(text);',
  'for (const item of data) {',
  `  console.log(\`$\{item.id}: $\{item.name}\`);`,
  '}',
  '```',
].join('\n');

/** A ShareGPT-style assistant answer: markdown lists, code blocks, paragraphs. */
export function chatAnswer(rng: Rng, scale: number): string {
  const parts: string[] = [];
  parts.push(`Sure! ${sentences(rng, rng.range(1, 3))}`);
  const blocks = Math.max(1, Math.round(rng.range(1, 4) * scale));
  for (let b = 0; b < blocks; b++) {
    switch (rng.int(4)) {
      case 0: {
        const n = rng.range(3, 6);
        const items: string[] = [];
        for (let i = 1; i <= n; i++) items.push(`${i}. **Step ${i}:** ${sentence(rng)}`);
        parts.push(items.join('\n'));
        break;
      }
      case 1:
        parts.push(JS_SNIPPET);
        break;
      case 2:
        parts.push(
          `| Option | Pros | Cons |\n| --- | --- | --- |\n| A | ${rng.pick(ADJECTIVES)} | ${rng.pick(ADJECTIVES)} |\n| B | ${rng.pick(ADJECTIVES)} | ${rng.pick(ADJECTIVES)} |`,
        );
        break;
      default:
        parts.push(paragraphs(rng, 1, 3, 6));
    }
  }
  if (rng.chance(0.1)) parts.push(rng.pick(LANG_SNIPPETS));
  parts.push('I hope this helps! Let me know if you have any other questions.');
  return parts.join('\n\n');
}

/** A lower-case CC-3M style URL for an image. */
export function imageUrl(rng: Rng, id: string, long = false): string {
  const hosts = [
    'images.example.com',
    'cdn.example.net',
    'media.example.org',
    'static.example.com',
    'photos.example.net',
  ];
  const path = long
    ? `/products/${rng.range(100000, 9999999)}/${rng.pick(['P', 'IMG_', 'thumb-'])}${rng.range(1000000, 99999999)}`
    : '';
  const query = long && rng.chance(0.5) ? `?w=${rng.pick([600, 800, 1024])}&q=${rng.range(60, 95)}` : '';
  return `http://${rng.pick(hosts)}/images/${rng.range(1000, 9999)}${path}/${id.toLowerCase()}_${rng.range(100, 999)}.jpg${query}`;
}
