export { crc32, encodeTinyImage, pngChunk, type TinyImageFormat, type TinyImageOptions } from './encode.js';
