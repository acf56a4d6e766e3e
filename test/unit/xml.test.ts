// Goal: the request-body XML parser accepts what S3 clients send (namespaces,
// entities, CDATA, comments) and refuses everything that could be abused (DTDs,
// deep nesting, element floods) or is not well-formed.
import t from 'tap';
import { child, children, childText, parseXml } from '../../src/http/xml/parse.js';
import { escapeXml, xmlDocument } from '../../src/http/xml/build.js';

t.test('parses S3 request bodies', async (t) => {
  const root = parseXml(
    '<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><!-- c -->' +
      '<Quiet>true</Quiet><Object><Key>a &amp; b &lt;c&gt; &#x263A; &#65;</Key></Object><Object><Key><![CDATA[<raw>&]]></Key></Object></Delete>',
  );
  t.equal(root.name, 'Delete');
  t.equal(childText(root, 'Quiet'), 'true');
  t.same(children(root, 'Object').map((o) => childText(o, 'Key')), ['a & b <c> ☺ A', '<raw>&']);
  const prefixed = parseXml('<s3:CompleteMultipartUpload xmlns:s3="x"><s3:Part><s3:PartNumber>1</s3:PartNumber></s3:Part></s3:CompleteMultipartUpload>');
  t.equal(childText(child(prefixed, 'Part')!, 'PartNumber'), '1');
  t.equal(parseXml('<a k="v &amp; w"/>').attributes.k, 'v & w');
});

t.test('refuses malformed and hostile documents', async (t) => {
  const bad = [
    '',
    '<a>',
    '<a></b>',
    '<a><b></a></b>',
    'text<a/>',
    '<a/><b/>',
    '<a>&unknown;</a>',
    '<a>&#0;</a>',
    '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
    '<a><![CDATA[open</a>',
    '<1a/>',
  ];
  for (const text of bad) t.throws(() => parseXml(text), { name: 'XmlSyntaxError' }, JSON.stringify(text));
  t.throws(() => parseXml('<a>'.repeat(40) + '</a>'.repeat(40)), /nested too deeply/);
  t.throws(() => parseXml(`<a>${'<b/>'.repeat(101)}</a>`, { maxDepth: 8, maxElements: 100 }), /too many elements/);
});

t.test('builds escaped documents', async (t) => {
  t.equal(escapeXml(`<&>"'\u0001`), '&lt;&amp;&gt;&quot;&apos;&#x1;');
  t.equal(
    xmlDocument('R', { A: 'x<y', B: [{ C: 1 }, { C: 2 }], D: undefined, E: true }, null),
    '<?xml version="1.0" encoding="UTF-8"?>\n<R><A>x&lt;y</A><B><C>1</C></B><B><C>2</C></B><E>true</E></R>',
  );
});
