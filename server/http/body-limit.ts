/**
 * The largest request body accepted anywhere (JSON for tRPC, forms for the
 * pages): every input the contract defines fits many times over, and a
 * bigger body is refused with 413 before it is parsed (memory exhaustion).
 */
export const BODY_LIMIT_BYTES = 64 * 1024;
