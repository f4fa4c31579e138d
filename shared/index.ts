export * from './app-codes.js';
export * from './schemas.js';
export * from './dto.js';
