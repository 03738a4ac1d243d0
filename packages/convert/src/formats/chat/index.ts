/** The chat-encoder skeleton of messages, swift, openai and sharegpt, and the role mapping it uses. */
export * from './encoder.js';
export * from './roles.js';
