// XML responses. Values are escaped here; callers build documents from plain
// data with `xmlDocument(root, fields)`, where a field is a string, a number, a
// boolean, a nested object, or an array meaning "repeat this element".
export type XmlValue = string | number | boolean | XmlFields | XmlFields[] | string[] | undefined | null;
export interface XmlFields {
  [name: string]: XmlValue;
}

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters must be escaped, they cannot appear raw in XML
  return text.replace(/[<>&"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (char) => {
    switch (char) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${char.charCodeAt(0).toString(16)};`;
    }
  });
}

function renderValue(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) renderValue(name, item as XmlValue, out);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [childName, childValue] of Object.entries(value)) renderValue(childName, childValue, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

export function xmlDocument(rootName: string, fields: XmlFields, namespace: string | null = S3_NAMESPACE): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  out.push(namespace ? `<${rootName} xmlns="${namespace}">` : `<${rootName}>`);
  for (const [name, value] of Object.entries(fields)) renderValue(name, value, out);
  out.push(`</${rootName}>`);
  return out.join('');
}
