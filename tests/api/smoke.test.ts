import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { query } from '../support/http.js';
import { startService, type TestService } from '../support/service.js';
import { createVerifiedUser } from '../support/users.js';

const s = suite<{ svc: TestService }>('smoke');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

s('a registered, verified user can call auth.me', async ({ svc }) => {
  const user = await createVerifiedUser(svc.url);
  const me = await query(svc.url, 'auth.me', undefined, { token: user.tokens.accessToken });
  assert.is(me.status, 200);
  assert.is(me.data.email, user.email);
});

s.run();
