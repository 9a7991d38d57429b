// Escaping for everything the HTML report embeds: text into elements and attributes, data into a
// <script type="application/json"> block, and library code into a <script> element.
//
// The subtle thing is the script element: the HTML parser ends it at the first `</script` whatever
// the JavaScript or JSON around it means, so a profile named `</script><script>alert(1)//` would end
// the data block and run as code. JSON is therefore written with `<`, `>` and `&` as \u escapes
// (still the same JSON), and U+2028 / U+2029 escaped as well (line terminators in old JavaScript).
// Inlined code gets `</script` broken up with a backslash (`<\/script` is the same text inside a
// string, a template or a regular expression); `<!--` has no such rewrite that is valid everywhere
// (`\!` is a syntax error in a unicode regular expression), so code containing it is refused.

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/** JSON that can sit inside <script type="application/json"> and be read back with JSON.parse(textContent). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JavaScript source to inline in a <script> element: nothing in it may close the element. */
export function codeForScript(source: string): string {
  if (source.includes('<!--')) throw new RangeError('code to inline contains "<!--", which would change how the page parses its <script> element');
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

/** CSS to inline in a <style> element. */
export function styleForElement(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}
