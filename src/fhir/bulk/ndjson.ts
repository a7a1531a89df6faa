// NDJSON (http://ndjson.org, as the Bulk Data IG uses it): one JSON resource per line. Lines are cut from the byte
// stream as it arrives, so a file of any size is read with memory for one chunk and one partial line.
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export async function* linesOf(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      yield text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest.length) yield rest;
}

export function fileLines(path: string): AsyncGenerator<string> {
  return linesOf(createReadStream(path, { highWaterMark: 1 << 20 }));
}
