// A small, strict XML parser for S3 request bodies (CompleteMultipartUpload,
// Delete, CreateBucketConfiguration, ...). S3 bodies need elements, text,
// attributes, the predefined entities, character references and CDATA — nothing
// else. DTDs are refused outright, so there is no entity expansion to abuse, and
// depth and element count are bounded.

export interface XmlElement {
  /** Local name, namespace prefix removed. */
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxDepth: 32, maxElements: 100_000 };
const NAME = /^[A-Za-z_][\w.:-]*/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s]{1,10});/g, (match, body: string) => {
    if (body.startsWith('#x') || body.startsWith('#X')) return codePoint(parseInt(body.slice(2), 16), match);
    if (body.startsWith('#')) return codePoint(parseInt(body.slice(1), 10), match);
    const value = PREDEFINED[body];
    if (value === undefined) throw new XmlSyntaxError(`unknown entity ${match}`);
    return value;
  });
}

function codePoint(value: number, source: string): string {
  if (!Number.isInteger(value) || value <= 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    throw new XmlSyntaxError(`invalid character reference ${source}`);
  }
  return String.fromCodePoint(value);
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

export function parseXml(source: string, limits: XmlLimits = DEFAULT_LIMITS): XmlElement {
  let position = 0;
  let elementCount = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (message: string): never => {
    throw new XmlSyntaxError(`${message} at offset ${position}`);
  };

  while (position < source.length) {
    const lt = source.indexOf('<', position);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > position) {
      const text = source.slice(position, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text);
      else if (text.trim() !== '') fail('text outside the root element');
      position = textEnd;
      continue;
    }
    if (source.startsWith('<?', position)) {
      const end = source.indexOf('?>', position);
      if (end < 0) fail('unterminated processing instruction');
      position = end + 2;
    } else if (source.startsWith('<!--', position)) {
      const end = source.indexOf('-->', position);
      if (end < 0) fail('unterminated comment');
      position = end + 3;
    } else if (source.startsWith('<![CDATA[', position)) {
      const end = source.indexOf(']]>', position);
      if (end < 0) fail('unterminated CDATA section');
      const top = stack[stack.length - 1];
      if (!top) fail('CDATA outside the root element');
      top!.text += source.slice(position + 9, end);
      position = end + 3;
    } else if (source.startsWith('<!', position)) {
      fail('document type declarations are not accepted');
    } else if (source.startsWith('</', position)) {
      const end = source.indexOf('>', position);
      if (end < 0) fail('unterminated end tag');
      const name = source.slice(position + 2, end).trim();
      const top = stack.pop();
      if (!top || localName(name) !== top.name) fail(`mismatched end tag </${name}>`);
      position = end + 1;
    } else {
      position++;
      const nameMatch = NAME.exec(source.slice(position, position + 256));
      if (!nameMatch) fail('invalid element name');
      const element: XmlElement = { name: localName(nameMatch![0]), attributes: {}, children: [], text: '' };
      position += nameMatch![0].length;
      if (++elementCount > limits.maxElements) fail('too many elements');
      let selfClosing = false;
      for (;;) {
        while (/\s/.test(source[position] ?? '')) position++;
        const char = source[position];
        if (char === undefined) fail('unterminated start tag');
        if (char === '>') {
          position++;
          break;
        }
        if (char === '/' && source[position + 1] === '>') {
          position += 2;
          selfClosing = true;
          break;
        }
        const attribute = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(source.slice(position, position + 4096));
        if (!attribute) fail('invalid attribute');
        element.attributes[attribute![1]!] = decodeEntities(attribute![3] ?? attribute![4] ?? '');
        position += attribute![0].length;
      }
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) fail('more than one root element');
      else root = element;
      if (!selfClosing) {
        stack.push(element);
        if (stack.length > limits.maxDepth) fail('elements nested too deeply');
      }
    }
  }
  if (stack.length > 0) fail(`unclosed element <${stack[stack.length - 1]!.name}>`);
  if (!root) fail('no root element');
  return root!;
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((candidate) => candidate.name === name);
}

export function children(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((candidate) => candidate.name === name);
}

export function childText(element: XmlElement, name: string): string | undefined {
  return child(element, name)?.text;
}
