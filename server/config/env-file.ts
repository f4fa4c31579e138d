import { config } from 'dotenv';

/**
 * Reads `.env` into the environment before anything else loads. Quietly:
 * dotenv announces itself on stdout by default, and stdout carries one JSON
 * object per line (request logs, security events) that log shippers parse.
 */
config({ quiet: true });
