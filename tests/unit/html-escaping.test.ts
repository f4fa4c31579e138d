import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeHtml, html, trusted } from '../../server/http/pages/html.js';

test('html`` escapes every interpolated string, in text and in attributes', () => {
  const evil = `"><script>alert('x')</script>&`;
  const out = html`<p title="${evil}">${evil}</p>`.value;
  assert.is(
    out,
    `<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</p>`,
  );
  assert.is(escapeHtml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
});

test('nested templates and lists are kept as markup; null, undefined and false render nothing', () => {
  const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
  assert.is(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value, '<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
  assert.is(html`${trusted('<svg></svg>')}`.value, '<svg></svg>');
});

test.run();
