import { KilnError } from '../../core/errors.js';

/**
 * A script's Args string split as a POSIX shell would split words: whitespace separates, single
 * quotes are literal, double quotes allow \" \\ \$ \`, a backslash escapes the next character.
 * No expansion of any kind: the script gets exactly the words written in the config.
 */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new KilnError(`Args: unterminated single quote in: ${s}`);
      word += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && '"\\$`\n'.includes(s[j + 1]!)) j++;
        word += s[j];
      }
      if (j >= s.length) throw new KilnError(`Args: unterminated double quote in: ${s}`);
      i = j;
    } else if (c === '\\') {
      if (i + 1 < s.length) word += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}
