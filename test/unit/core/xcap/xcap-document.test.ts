import { describe, it, expect } from 'vitest';
import type { Result } from '../../../../core/errors.js';
import type { XmlElement } from '../../../../core/xml/xml-node.js';
import { parseXml, parseXmlFragment } from '../../../../core/xml/xml-parser.js';
import { attr, childElements, elementEquals } from '../../../../core/xml/xml-query.js';
import { serializeXml } from '../../../../core/xml/xml-serializer.js';
import { parseNodeSelector, type NodeSelector } from '../../../../core/xcap/node-selector.js';
import { VALID, type AppUsage } from '../../../../core/xcap/usages/app-usage.js';
import {
  XCAP_ATT_MIME,
  XCAP_EL_MIME,
  XCAP_ERROR_NS,
  XCAP_NS_MIME,
  ancestorUri,
  deleteNode,
  documentNamespaces,
  getDocument,
  getNode,
  parseAttributeValue,
  putNode,
  selectNode,
  xcapErrorBody,
  xcapErrorDocument,
  type XcapOperationContext,
  type XcapResult,
} from '../../../../core/xcap/xcap-document.js';
import { parseXcapUri } from '../../../../core/xcap/xcap-uri.js';

function value<T>(r: Result<T> | XcapResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
function code(r: Result<unknown> | XcapResult<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}
function xml(text: string): XmlElement {
  return value(parseXml(text));
}
function sel(text: string, ns: Record<string, string> = {}, defaultNs = ''): NodeSelector {
  return value(parseNodeSelector(text, ns, defaultNs));
}
function same(a: XmlElement, b: XmlElement): boolean {
  return elementEquals(a, b);
}

/** An application usage without constraints, for the protocol-level rules. */
function usage(defaultNamespace: string, more: Partial<AppUsage> = {}): AppUsage {
  return { auid: 'test-app', mimeType: 'application/test-app+xml', defaultNamespace, validate: () => VALID, ...more };
}
const CTX: XcapOperationContext = { usage: usage('') };

// ---------------------------------------------------------------------------
// RFC 4825 §6.3: node selector examples
// ---------------------------------------------------------------------------

const WINFO = 'urn:ietf:params:xml:ns:watcherinfo';
/** RFC 4825 §6.3, Figure 3 (a watcherinfo document, RFC 3858). */
const FIGURE3 = xml(`<?xml version="1.0"?>
<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full">
  <watcher-list resource="sip:professor@example.net" package="presence">
    <watcher status="active" id="8ajksjda7s" duration-subscribed="509" event="approved">sip:userA@example.net</watcher>
    <watcher status="pending" id="hh8juja87s997-ass7" display-name="Mr. Subscriber" event="subscribe">sip:userB@example.org</watcher>
  </watcher-list>
</watcherinfo>`);

/** RFC 4825 §6.3, the namespace example. */
const NS_EXAMPLE = xml(`<?xml version="1.0" encoding="UTF-8"?>
<foo xmlns="urn:test:default-namespace">
  <ns1:bar xmlns:ns1="urn:test:namespace1-uri" xmlns="urn:test:namespace1-uri">
    <baz/>
    <ns2:baz xmlns:ns2="urn:test:namespace2-uri"/>
  </ns1:bar>
  <ns3:hi xmlns:ns3="urn:test:namespace3-uri">
    <there/>
  </ns3:hi>
</foo>`);
const NS_DEFAULT = 'urn:test:default-namespace';

describe('selectNode / getNode: RFC 4825 §6.3 examples', () => {
  it('watcherinfo/watcher-list/watcher[@id="8ajksjda7s"] selects the first watcher', () => {
    const s = selectNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[@id="8ajksjda7s"]', {}, WINFO));
    expect(s.kind).toBe('element');
    if (s.kind === 'element') {
      expect(attr(s.element, 'status')).toBe('active');
      expect(s.path).toEqual([0, 0]);
    }
  });

  it('GET of an element returns it as application/xcap-el+xml with its namespace declared', () => {
    const r = value(getNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[@id="8ajksjda7s"]', {}, WINFO)));
    expect(r.contentType).toBe(XCAP_EL_MIME);
    expect(r.body).toBe(
      '<watcher xmlns="urn:ietf:params:xml:ns:watcherinfo" status="active" id="8ajksjda7s" duration-subscribed="509" event="approved">sip:userA@example.net</watcher>',
    );
  });

  it('GET of an attribute returns its value as application/xcap-att+xml', () => {
    expect(value(getNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[@id="8ajksjda7s"]/@status', {}, WINFO)))).toEqual({
      contentType: XCAP_ATT_MIME,
      body: 'active',
    });
    expect(value(getNode(FIGURE3, sel('watcherinfo/watcher-list/*[2]/@display-name', {}, WINFO))).body).toBe('Mr. Subscriber');
  });

  it('positional steps count siblings that pass the name test; by-pos-attr tests the attribute after the position', () => {
    expect(selectNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[2]', {}, WINFO)).kind).toBe('element');
    expect(selectNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[3]', {}, WINFO)).kind).toBe('none');
    expect(selectNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[1][@status="pending"]', {}, WINFO)).kind).toBe('none');
    expect(selectNode(FIGURE3, sel('watcherinfo/watcher-list/watcher[2][@status="pending"]', {}, WINFO)).kind).toBe('element');
    expect(selectNode(FIGURE3, sel('*/*/*[@status="pending"]', {}, WINFO)).kind).toBe('element');
    expect(selectNode(FIGURE3, sel('watcherinfo[1]', {}, WINFO)).kind).toBe('element');
    expect(selectNode(FIGURE3, sel('watcherinfo[2]', {}, WINFO)).kind).toBe('none');
  });

  it('a selector matching several elements selects nothing: 404 ("exactly one")', () => {
    const s = sel('watcherinfo/watcher-list/watcher', {}, WINFO);
    expect(selectNode(FIGURE3, s)).toEqual({ kind: 'ambiguous', count: 2 });
    expect(code(getNode(FIGURE3, s))).toBe('not-found');
    expect(code(getNode(FIGURE3, sel('watcherinfo/watcher-list/watcher/@status', {}, WINFO)))).toBe('not-found');
  });

  it('names are matched by namespace URI, not by prefix: unprefixed = the usage default namespace', () => {
    // Without a binding for the namespace of <bar>, the unprefixed name does not match.
    expect(selectNode(NS_EXAMPLE, sel('foo/bar', {}, NS_DEFAULT)).kind).toBe('none');
    const q1 = { a: 'urn:test:namespace1-uri', b: 'urn:test:namespace1-uri' };
    const first = selectNode(NS_EXAMPLE, sel('foo/a:bar/b:baz', q1, NS_DEFAULT));
    expect(first.kind === 'element' && first.element.ns).toBe('urn:test:namespace1-uri');
    const q2 = { a: 'urn:test:namespace1-uri', b: 'urn:test:namespace2-uri' };
    const second = selectNode(NS_EXAMPLE, sel('foo/a:bar/b:baz', q2, NS_DEFAULT));
    expect(second.kind === 'element' && second.path).toEqual([0, 1]);
    // <there> inherits the default namespace of <foo>: unprefixed in the selector.
    expect(selectNode(NS_EXAMPLE, sel('foo/a:hi/there', { a: 'urn:test:namespace3-uri' }, NS_DEFAULT)).kind).toBe('element');
    expect(selectNode(NS_EXAMPLE, sel('foo/a:bar/*[2]', q1, NS_DEFAULT)).kind).toBe('element');
  });

  it('namespace::* returns the element with every in-scope binding as application/xcap-ns+xml', () => {
    const r = value(getNode(NS_EXAMPLE, sel('foo/a:bar/namespace::*', { a: 'urn:test:namespace1-uri' }, NS_DEFAULT)));
    expect(r.contentType).toBe(XCAP_NS_MIME);
    const back = value(parseXml(r.body));
    expect(back.ns).toBe('urn:test:namespace1-uri');
    expect(back.local).toBe('bar');
    expect(back.children).toEqual([]);
    expect(back.attrs).toEqual([]);
    // The bindings in scope in the document as presenced serves it (all declared on the root element).
    expect(r.body).toBe(
      '<ns1:bar xmlns="urn:test:default-namespace" xmlns:ns1="urn:test:namespace1-uri" xmlns:ns2="urn:test:namespace2-uri" xmlns:ns3="urn:test:namespace3-uri"/>',
    );
    expect(r.body.startsWith('<ns1:bar ') || r.body.startsWith('<bar ')).toBe(true);
  });

  it('documentNamespaces gives the declarations of the serialised document', () => {
    expect(documentNamespaces(NS_EXAMPLE)).toEqual({ '': NS_DEFAULT, ns1: 'urn:test:namespace1-uri', ns2: 'urn:test:namespace2-uri', ns3: 'urn:test:namespace3-uri' });
  });

  it('GET of the whole document uses the usage MIME type and parses back to the same tree', () => {
    const r = getDocument(FIGURE3, { mimeType: 'application/watcherinfo+xml', defaultNamespace: WINFO });
    expect(r.contentType).toBe('application/watcherinfo+xml');
    expect(r.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    expect(same(xml(r.body), FIGURE3)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// RFC 4825 §8.2.3: PUT creation examples
// ---------------------------------------------------------------------------

/** RFC 4825 §8.2.3 example document (the comment is dropped by the parser). */
const START = xml(`<?xml version="1.0" encoding="UTF-8"?>
<root>
  <el1 att="first"/>
  <el1 att="second"/>
  <!-- comment -->
  <el2 att="first"/>
</root>`);

function names(doc: XmlElement): string[] {
  return childElements(doc).map((e) => `${e.local}:${attr(e, 'att') ?? ''}`);
}

function putEl(doc: XmlElement | undefined, selector: string, body: string, ctx: XcapOperationContext = CTX): XcapResult<{ doc: XmlElement; created: boolean }> {
  return putNode(doc, sel(selector, ctx.namespaces ?? {}, ctx.usage.defaultNamespace), body, XCAP_EL_MIME, ctx);
}

describe('PUT of an element: creation (RFC 4825 §8.2.3)', () => {
  it.each(['root/el1[@att="third"]', 'root/el1[3][@att="third"]', 'root/*[3][@att="third"]'])(
    '%s inserts after the last <el1>, and DELETE of the same URI restores the document',
    (s) => {
      const r = value(putEl(START, s, '<el1 att="third"/>'));
      expect(r.created).toBe(true);
      expect(names(r.doc)).toEqual(['el1:first', 'el1:second', 'el1:third', 'el2:first']);
      const back = value(deleteNode(r.doc, sel(s), CTX));
      expect(same(back, START)).toBe(true);
    },
  );

  it.each(['root/el1[4][@att="third"]', 'root/*[0][@att="third"]', 'root/*[6][@att="third"]'])('%s is out of range: 409 cannot-insert', (s) => {
    const r = putEl(START, s, '<el1 att="third"/>');
    expect(code(r)).toBe('xcap-cannot-insert');
    expect(!r.ok && r.error.xcap?.condition).toBe('cannot-insert');
  });

  it.each(['root/el1[@att="third"]', 'root/el1[3][@att="third"]', 'root/*[3][@att="third"]'])(
    '%s with a body the URI would not select is refused: 409 cannot-insert',
    (s) => {
      expect(code(putEl(START, s, '<el1 att="fourth"/>'))).toBe('xcap-cannot-insert');
      expect(code(putEl(START, s, '<el3 att="third"/>'))).toBe(s.includes('*') ? 'ok' : 'xcap-cannot-insert');
    },
  );

  it('root/el3 appends a new element after all children', () => {
    expect(names(value(putEl(START, 'root/el3', '<el3 att="first"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el2:first', 'el3:first']);
  });

  it.each(['root/el2[@att="2"]', 'root/el2[2][@att="2"]'])('%s inserts after the existing <el2>', (s) => {
    expect(names(value(putEl(START, s, '<el2 att="2"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el2:first', 'el2:2']);
  });

  it('root/*[2][@att="2"] inserts as the second child element', () => {
    const r = value(putEl(START, 'root/*[2][@att="2"]', '<el2 att="2"/>'));
    expect(names(r.doc)).toEqual(['el1:first', 'el2:2', 'el1:second', 'el2:first']);
    expect(same(value(deleteNode(r.doc, sel('root/*[2][@att="2"]'), CTX)), START)).toBe(true);
  });

  it('root/el2[1][@att="2"] inserts before the existing first <el2>', () => {
    expect(names(value(putEl(START, 'root/el2[1][@att="2"]', '<el2 att="2"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el2:2', 'el2:first']);
  });

  it('root/*[@att="2"] places the element after the last sibling with the name of the body', () => {
    expect(names(value(putEl(START, 'root/*[@att="2"]', '<el1 att="2"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el1:2', 'el2:first']);
    expect(names(value(putEl(START, 'root/*[@att="2"]', '<el2 att="2"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el2:first', 'el2:2']);
    expect(names(value(putEl(START, 'root/*[@att="2"]', '<el3 att="2"/>')).doc)).toEqual(['el1:first', 'el1:second', 'el2:first', 'el3:2']);
  });

  it('inserts into an empty element and into an element that only held white space', () => {
    const d = xml('<root><a/><b>  </b></root>');
    expect(serializeXml(value(putEl(d, 'root/a/x', '<x/>')).doc)).toBe('<root><a><x/></a><b>  </b></root>');
    expect(serializeXml(value(putEl(d, 'root/b/x', '<x/>')).doc)).toBe('<root><a/><b><x/></b></root>');
  });
});

describe('PUT of an element: replacement (RFC 4825 §8.2.4)', () => {
  it.each(['root/el1[@att="first"]', 'root/el1[1][@att="first"]', 'root/*[1][@att="first"]'])(
    '%s with a body that does not match the attribute test: 409 cannot-insert',
    (s) => {
      expect(code(putEl(START, s, '<el1 att="third"/>'))).toBe('xcap-cannot-insert');
    },
  );

  it.each(['root/el1[1]', 'root/*[1]'])('%s replaces the first child (200)', (s) => {
    const r = value(putEl(START, s, '<el1 att="third"/>'));
    expect(r.created).toBe(false);
    expect(names(r.doc)).toEqual(['el1:third', 'el1:second', 'el2:first']);
  });

  it('root/*[1] may replace the element by one with another name', () => {
    expect(names(value(putEl(START, 'root/*[1]', '<el9/>')).doc)).toEqual(['el9:', 'el1:second', 'el2:first']);
    expect(code(putEl(START, 'root/el1[1]', '<el9/>'))).toBe('xcap-cannot-insert');
  });

  it('replaces the root element through its own selector, and refuses a second root', () => {
    const r = value(putEl(START, 'root', '<root><x/></root>'));
    expect(serializeXml(r.doc)).toBe('<root><x/></root>');
    expect(r.created).toBe(false);
    expect(code(putEl(START, 'other', '<other/>'))).toBe('xcap-cannot-insert');
    expect(code(putEl(START, 'root', '<other/>'))).toBe('xcap-cannot-insert');
  });

  it('an ambiguous target is 404', () => {
    expect(code(putEl(START, 'root/el1', '<el1/>'))).toBe('not-found');
  });

  it('intermediate steps may match several elements when the whole selector selects one (XPath node-set semantics)', () => {
    const d = xml('<r><p><c id="1"/></p><p><c id="2"/></p></r>');
    expect(value(getNode(d, sel('r/p/c[@id="2"]'))).body).toBe('<c id="2"/>');
    expect(serializeXml(value(putEl(d, 'r/p/c[@id="1"]', '<c id="1" v="x"/>')).doc)).toBe('<r><p><c id="1" v="x"/></p><p><c id="2"/></p></r>');
    // Creation needs exactly one parent.
    expect(code(putEl(d, 'r/p/c[@id="3"]', '<c id="3"/>'))).toBe('not-found');
    expect(code(putEl(d, 'r/p[2]/c[@id="3"]', '<c id="3"/>'))).toBe('ok');
  });

  it('the documents given are never modified', () => {
    const before = serializeXml(START);
    putEl(START, 'root/el1[1]', '<el1 att="third"/>');
    putEl(START, 'root/el3', '<el3/>');
    deleteNode(START, sel('root/el1[@att="first"]'), CTX);
    expect(serializeXml(START)).toBe(before);
  });
});

describe('PUT: no-parent (RFC 4825 §8.2.1) and the error body (§11)', () => {
  it('a missing parent gives 409 no-parent with the closest existing ancestor', () => {
    const r = putEl(START, 'root/el1[@att="first"]/a/b', '<b/>');
    expect(code(r)).toBe('xcap-no-parent');
    expect(!r.ok && r.error.xcap).toEqual({
      condition: 'no-parent',
      phrase: 'the parent of root/el1[@att="first"]/a/b does not exist',
      ancestor: { kind: 'element', nodeSelector: 'root/el1[@att="first"]' },
    });
    const r2 = putEl(START, 'root/el9/x', '<x/>');
    expect(!r2.ok && r2.error.xcap?.ancestor).toEqual({ kind: 'element', nodeSelector: 'root' });
  });

  it('when even the root does not match, the ancestor is the document; without document, the directory', () => {
    const r = putEl(START, 'other/x', '<x/>');
    expect(!r.ok && r.error.xcap?.ancestor).toEqual({ kind: 'document' });
    const r2 = putEl(undefined, 'root/x', '<x/>');
    expect(code(r2)).toBe('xcap-no-parent');
    expect(!r2.ok && r2.error.xcap?.ancestor).toEqual({ kind: 'directory' });
  });

  it('an attribute PUT on a missing element is no-parent too', () => {
    const r = putNode(START, sel('root/el9/@a'), 'v', XCAP_ATT_MIME, CTX);
    expect(!r.ok && r.error.xcap?.ancestor).toEqual({ kind: 'element', nodeSelector: 'root' });
  });

  it('ancestorUri and xcapErrorDocument build the <ancestor> URI and body', () => {
    const uri = value(parseXcapUri('/test-app/users/sip:joe@example.com/index/~~/root/el1%5B@att=%22first%22%5D/a/b', 'xmlns(p=urn:p)'));
    const r = putEl(START, 'root/el1[@att="first"]/a/b', '<b/>');
    if (r.ok || r.error.xcap?.ancestor === undefined) throw new Error('expected no-parent');
    const rel = ancestorUri(uri, r.error.xcap.ancestor);
    expect(rel).toBe('test-app/users/sip:joe@example.com/index/~~/root/el1%5B@att=%22first%22%5D?xmlns(p=urn:p)');
    expect(ancestorUri(uri, { kind: 'document' })).toBe('test-app/users/sip:joe@example.com/index');
    expect(ancestorUri(uri, { kind: 'directory' })).toBe('test-app/users/sip:joe@example.com/');
    const body = xcapErrorDocument(r.error, `http://xcap.example.com/${rel}`);
    expect(body).toBeDefined();
    const doc = xml(body!);
    expect(doc.ns).toBe(XCAP_ERROR_NS);
    expect(doc.local).toBe('xcap-error');
    const np = childElements(doc)[0]!;
    expect(np.local).toBe('no-parent');
    expect(childElements(np)[0]!.children).toEqual([{ kind: 'text', text: `http://xcap.example.com/${rel}` }]);
    expect(xcapErrorDocument({ code: 'not-found' })).toBeUndefined();
  });

  it('xcapErrorBody writes every condition of RFC 4825 §11 in the xcap-error namespace', () => {
    for (const c of [
      'not-well-formed',
      'not-xml-frag',
      'not-xml-att-value',
      'not-utf-8',
      'schema-validation-error',
      'constraint-failure',
      'cannot-insert',
      'cannot-delete',
      'no-parent',
    ] as const) {
      const doc = xml(xcapErrorBody(c, { phrase: `why ${c}` }));
      expect(doc.ns).toBe(XCAP_ERROR_NS);
      expect(childElements(doc).map((e) => [e.ns, e.local, attr(e, 'phrase')])).toEqual([[XCAP_ERROR_NS, c, `why ${c}`]]);
    }
    const u = xml(
      xcapErrorBody('uniqueness-failure', {
        exists: [{ field: 'rls-services/service%5B2%5D/@uri', altValues: ['sip:mybuddies-2@example.com', 'sip:mybuddies-3@example.com'] }],
      }),
    );
    const exists = childElements(childElements(u)[0]!)[0]!;
    expect(exists.local).toBe('exists');
    expect(attr(exists, 'field')).toBe('rls-services/service%5B2%5D/@uri');
    expect(childElements(exists).map((a) => a.children)).toEqual([
      [{ kind: 'text', text: 'sip:mybuddies-2@example.com' }],
      [{ kind: 'text', text: 'sip:mybuddies-3@example.com' }],
    ]);
  });
});

describe('PUT: body checks (RFC 4825 §8.2.2)', () => {
  it('an element body must be one element: not-xml-frag', () => {
    for (const b of ['<el3/><el4/>', 'text', '', '<el3/>text', 'text<el3/>']) expect(code(putEl(START, 'root/el3', b)), b).toBe('xcap-not-xml-frag');
  });

  it('a broken body is not-well-formed (including DTDs: no entity is ever expanded)', () => {
    for (const b of ['<el3>', '<el3 a=1/>', '<el3></el4>', '<!DOCTYPE el3 [<!ENTITY x SYSTEM "file:///etc/passwd">]><el3>&x;</el3>', '<el3>&lol;</el3>', '<p:el3/>']) {
      expect(code(putEl(START, 'root/el3', b)), b).toBe('xcap-not-well-formed');
    }
  });

  it('a body declaring another encoding is not-utf-8', () => {
    expect(code(putEl(START, 'root/el3', '<?xml version="1.0" encoding="ISO-8859-1"?><el3/>'))).toBe('xcap-not-utf-8');
    expect(code(putNode(undefined, undefined, "<?xml version='1.0' encoding='UTF-16'?><root/>", 'application/test-app+xml', CTX))).toBe('xcap-not-utf-8');
    expect(code(putEl(START, 'root/el3', '<?xml version="1.0" encoding="utf-8"?><el3/>'))).toBe('ok');
  });

  it('the Content-Type must match the kind of resource: 415', () => {
    expect(code(putNode(START, sel('root/el3'), '<el3/>', 'application/xml', CTX))).toBe('unsupported-media-type');
    expect(code(putNode(START, sel('root/el3'), '<el3/>', undefined, CTX))).toBe('unsupported-media-type');
    expect(code(putNode(START, sel('root/el3'), '<el3/>', 'Application/XCAP-EL+XML; charset=utf-8', CTX))).toBe('ok');
    expect(code(putNode(START, sel('root/@a'), 'v', XCAP_EL_MIME, CTX))).toBe('unsupported-media-type');
    expect(code(putNode(START, undefined, '<root/>', XCAP_EL_MIME, CTX))).toBe('unsupported-media-type');
    const r = putNode(START, undefined, '<root/>', 'application/xml', CTX);
    expect(!r.ok && r.error.headers).toEqual([{ name: 'Accept', value: 'application/test-app+xml' }]);
  });

  it('bodies over the limits are 413', () => {
    const ctx: XcapOperationContext = { ...CTX, limits: { maxBytes: 100, maxTextBytes: 10 } };
    expect(code(putEl(START, 'root/el3', `<el3>${'x'.repeat(200)}</el3>`, ctx))).toBe('body-too-large');
    expect(code(putNode(START, sel('root/@a'), 'x'.repeat(11), XCAP_ATT_MIME, ctx))).toBe('body-too-large');
  });

  it('a document growing past the limits is refused: 409 constraint-failure', () => {
    const ctx: XcapOperationContext = { ...CTX, limits: { maxElements: 4 } };
    expect(code(putEl(START, 'root/el3', '<el3/>', ctx))).toBe('xcap-constraint-failure');
    const deep: XcapOperationContext = { ...CTX, limits: { maxDepth: 3 } };
    expect(code(putEl(START, 'root/el3', '<el3><a/></el3>', deep))).toBe('ok');
    expect(code(putEl(START, 'root/el3', '<el3><a><b/></a></el3>', deep))).toBe('xcap-constraint-failure');
  });
});

describe('PUT of a whole document', () => {
  it('creates (201) and replaces (200) after validation', () => {
    const c = value(putNode(undefined, undefined, '<root><a/></root>', 'application/test-app+xml', CTX));
    expect(c.created).toBe(true);
    const r = value(putNode(c.doc, undefined, '<root><b/></root>', 'application/test-app+xml; charset="UTF-8"', CTX));
    expect(r.created).toBe(false);
    expect(serializeXml(r.doc)).toBe('<root><b/></root>');
  });

  it('a broken document is not-well-formed', () => {
    expect(code(putNode(undefined, undefined, '<root>', 'application/test-app+xml', CTX))).toBe('xcap-not-well-formed');
    expect(code(putNode(undefined, undefined, '<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', 'application/test-app+xml', CTX))).toBe('xcap-not-well-formed');
  });

  it('the usage validation decides (schema-validation-error from the usage)', () => {
    const strict = usage('', { validate: (d) => (d.local === 'root' ? VALID : { ok: false, error: { code: 'xcap-schema-validation-error', detail: 'bad root' } }) });
    expect(code(putNode(undefined, undefined, '<toor/>', 'application/test-app+xml', { usage: strict }))).toBe('xcap-schema-validation-error');
    expect(code(putEl(START, 'root/el1[1]', '<el1/>', { usage: strict }))).toBe('ok');
  });

  it('read-only usages refuse PUT and DELETE with 405 and Allow: GET', () => {
    const ro: XcapOperationContext = { usage: usage('', { readOnly: true }) };
    const r = putNode(START, undefined, '<root/>', 'application/test-app+xml', ro);
    expect(code(r)).toBe('method-not-allowed');
    expect(!r.ok && r.error.headers).toEqual([{ name: 'Allow', value: 'GET' }]);
    expect(code(deleteNode(START, sel('root/el2'), ro))).toBe('method-not-allowed');
  });
});

describe('PUT of an attribute (RFC 4825 §8.2.3)', () => {
  it('creates and replaces attributes; the body is an attribute value with references', () => {
    const c = value(putNode(START, sel('root/el2/@new'), 'a&amp;b &lt; &quot;c&quot;', XCAP_ATT_MIME, CTX));
    expect(c.created).toBe(true);
    const el2 = childElements(c.doc)[2]!;
    expect(attr(el2, 'new')).toBe('a&b < "c"');
    expect(value(getNode(c.doc, sel('root/el2/@new')))).toEqual({ contentType: XCAP_ATT_MIME, body: 'a&amp;b &lt; &quot;c&quot;' });
    const r = value(putNode(c.doc, sel('root/el2/@att'), 'changed', XCAP_ATT_MIME, CTX));
    expect(r.created).toBe(false);
    expect(names(r.doc)).toEqual(['el1:first', 'el1:second', 'el2:changed']);
  });

  it('namespaced attributes use the query bindings', () => {
    const ctx: XcapOperationContext = { ...CTX, namespaces: { p: 'urn:p' } };
    const r = value(putNode(START, sel('root/el2/@p:x', { p: 'urn:p' }), '1', XCAP_ATT_MIME, ctx));
    expect(serializeXml(r.doc)).toContain('p:x="1"');
    expect(value(getNode(r.doc, sel('root/el2/@q:x', { q: 'urn:p' }))).body).toBe('1');
  });

  it('a value that would make the selector miss its element is refused: cannot-insert', () => {
    expect(code(putNode(START, sel('root/el1[@att="first"]/@att'), 'other', XCAP_ATT_MIME, CTX))).toBe('xcap-cannot-insert');
    expect(code(putNode(START, sel('root/el1[@att="first"]/@att'), 'first', XCAP_ATT_MIME, CTX))).toBe('ok');
  });

  it('an invalid attribute value is not-xml-att-value', () => {
    for (const b of ['a<b', 'a&b', '&bogus;', `"'`, 'x\u0001']) expect(code(putNode(START, sel('root/el2/@v'), b, XCAP_ATT_MIME, CTX)), b).toBe('xcap-not-xml-att-value');
  });

  it('parseAttributeValue normalises literal white space like an XML processor', () => {
    expect(parseAttributeValue('a\tb\r\nc&#9;d')).toBe('a b c\td');
    expect(parseAttributeValue(`it's`)).toBe(`it's`);
  });

  it('namespace::* cannot be written: 405', () => {
    expect(code(putNode(START, sel('root/namespace::*'), '<x/>', XCAP_NS_MIME, CTX))).toBe('method-not-allowed');
  });
});

describe('element bodies take their namespaces from the document and the query', () => {
  const RL = 'urn:ietf:params:xml:ns:resource-lists';
  const LISTS = xml(`<resource-lists xmlns="${RL}"><list name="friends"><entry uri="sip:bill@example.com"/></list></resource-lists>`);
  const rl: XcapOperationContext = { usage: usage(RL) };

  it('an unprefixed body element is in the default namespace in scope at the parent', () => {
    const r = value(putEl(LISTS, 'resource-lists/list[@name="friends"]/entry[@uri="sip:joe@example.com"]', '<entry uri="sip:joe@example.com"><display-name>Joe</display-name></entry>', rl));
    const entries = childElements(childElements(r.doc)[0]!);
    expect(entries.map((e) => [e.ns, attr(e, 'uri')])).toEqual([
      [RL, 'sip:bill@example.com'],
      [RL, 'sip:joe@example.com'],
    ]);
    expect(childElements(entries[1]!)[0]!.ns).toBe(RL);
  });

  it('prefixes of the query and of the document are usable in the body', () => {
    const CP = 'urn:ietf:params:xml:ns:common-policy';
    const PR = 'urn:ietf:params:xml:ns:pres-rules';
    const rules = xml(`<cr:ruleset xmlns:cr="${CP}" xmlns:pr="${PR}"><cr:rule id="a"><cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule></cr:ruleset>`);
    const ctx: XcapOperationContext = { usage: usage(PR), namespaces: { cp: CP } };
    const r = value(putEl(rules, 'cp:ruleset/cp:rule[@id="b"]', '<cp:rule id="b"><cp:actions><pr:sub-handling>allow</pr:sub-handling></cp:actions></cp:rule>', ctx));
    const added = childElements(r.doc)[1]!;
    expect([added.ns, added.local, attr(added, 'id')]).toEqual([CP, 'rule', 'b']);
    expect(childElements(childElements(added)[0]!)[0]!.ns).toBe(PR);
    // The document's own prefix works as well.
    expect(code(putEl(rules, 'cp:ruleset/cp:rule[@id="c"]', '<cr:rule id="c"/>', ctx))).toBe('ok');
    // As served, the default namespace is the usage's (pres-rules): an unprefixed <rule> is not a common-policy rule.
    expect(code(putEl(rules, 'cp:ruleset/cp:rule[@id="d"]', '<rule id="d"/>', ctx))).toBe('xcap-cannot-insert');
    expect(code(putEl(rules, 'cp:ruleset/cp:rule[@id="d"]', `<rule xmlns="${CP}" id="d"/>`, ctx))).toBe('ok');
    expect(value(getNode(rules, sel('cp:ruleset/namespace::*', { cp: CP }, PR), PR)).body).toBe(`<cr:ruleset xmlns="${PR}" xmlns:cr="${CP}" xmlns:pr="${PR}"/>`);
  });
});

describe('DELETE (RFC 4825 §8.4)', () => {
  it('deletes an element selected by attribute', () => {
    expect(names(value(deleteNode(START, sel('root/el1[@att="first"]'), CTX)))).toEqual(['el1:second', 'el2:first']);
  });

  it('refuses a DELETE after which the URI would select another element: cannot-delete', () => {
    expect(code(deleteNode(START, sel('root/el1[1]'), CTX))).toBe('xcap-cannot-delete');
    expect(code(deleteNode(START, sel('root/*[1]'), CTX))).toBe('xcap-cannot-delete');
    expect(code(deleteNode(START, sel('root/*[2]'), CTX))).toBe('xcap-cannot-delete');
    expect(names(value(deleteNode(START, sel('root/el1[2]'), CTX)))).toEqual(['el1:first', 'el2:first']);
    expect(names(value(deleteNode(START, sel('root/*[3]'), CTX)))).toEqual(['el1:first', 'el1:second']);
  });

  it('refuses to delete the root element', () => {
    expect(code(deleteNode(START, sel('root'), CTX))).toBe('xcap-cannot-delete');
  });

  it('404 for nothing or several selected, 405 for namespace::*', () => {
    expect(code(deleteNode(START, sel('root/el9'), CTX))).toBe('not-found');
    expect(code(deleteNode(START, sel('root/el1'), CTX))).toBe('not-found');
    expect(code(deleteNode(START, sel('root/el2/@nope'), CTX))).toBe('not-found');
    expect(code(deleteNode(START, sel('root/namespace::*'), CTX))).toBe('method-not-allowed');
  });

  it('deletes attributes; the selector then selects nothing', () => {
    const d = value(deleteNode(START, sel('root/el2/@att'), CTX));
    expect(names(d)).toEqual(['el1:first', 'el1:second', 'el2:']);
    expect(value(deleteNode(START, sel('root/el1[@att="first"]/@att'), CTX))).toBeDefined();
  });

  it('merges the text around a deleted element of mixed content', () => {
    const d = xml('<r>one <b/>two</r>');
    const out = value(deleteNode(d, sel('r/b'), CTX));
    expect(out.children).toEqual([{ kind: 'text', text: 'one two' }]);
    expect(same(xml(serializeXml(out)), out)).toBe(true);
  });

  it('the usage validates the result of a DELETE', () => {
    const needsEl2 = usage('', {
      validate: (doc) => (childElements(doc, '', 'el2').length > 0 ? VALID : { ok: false, error: { code: 'xcap-schema-validation-error' } }),
    });
    expect(code(deleteNode(START, sel('root/el2'), { usage: needsEl2 }))).toBe('xcap-schema-validation-error');
  });
});

describe('round trip of element PUT and GET', () => {
  it('GET returns what was PUT (fragment parse equality)', () => {
    const body = '<el3 xmlns:x="urn:x" att="v" x:y="z"><x:c>t</x:c>tail</el3>';
    const r = value(putEl(START, 'root/el3', body));
    const got = value(getNode(r.doc, sel('root/el3')));
    expect(same(value(parseXmlFragment(got.body, {})), value(parseXmlFragment(body, {})))).toBe(true);
  });
});
