// A small PNG reader for screenshots (8-bit RGB/RGBA, not interlaced: what every engine's
// screenshot gives), so pixel checks work the same whatever the driver can clip.
import { deflateSync, inflateSync } from 'node:zlib';

export function decodePng(buf) {
  buf = Buffer.from(buf);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colour = data[9];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || data[12] !== 0) throw new Error(`unsupported PNG (depth ${depth}, colour ${colour}, interlace ${data[12]})`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    raw.copy(cur, 0, y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = cur[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = cur[x * channels];
      out[(y * width + x) * 4 + 1] = cur[x * channels + 1];
      out[(y * width + x) * 4 + 2] = cur[x * channels + 2];
      out[(y * width + x) * 4 + 3] = channels === 4 ? cur[x * channels + 3] : 255;
    }
    cur.copy(prev);
  }
  return { width, height, data: out, pixel: (x, y) => [...out.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)] };
}

// A screenshot that is not one flat colour (the canvas really drew): many distinct colours.
export function notBlank(png) {
  const { data } = decodePng(png);
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return seen.size > 20;
}

// ---- image helpers (an image is { width, height, data: RGBA bytes }, as decodePng returns) -----

const withPixel = (img) => ({ ...img, pixel: (x, y) => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4)] });

// The w x h rectangle at (x, y), in the image's pixels (rounded; parts outside the image are
// transparent black).
export function crop(img, x, y, w, h) {
  x = Math.round(x); y = Math.round(y); w = Math.max(0, Math.round(w)); h = Math.max(0, Math.round(h));
  const out = Buffer.alloc(w * h * 4);
  for (let j = 0; j < h; j++) {
    const sy = y + j;
    if (sy < 0 || sy >= img.height) continue;
    const x0 = Math.max(0, x), x1 = Math.min(img.width, x + w);
    if (x1 <= x0) continue;
    img.data.copy(out, (j * w + (x0 - x)) * 4, (sy * img.width + x0) * 4, (sy * img.width + x1) * 4);
  }
  return withPixel({ width: w, height: h, data: out });
}

// Images side by side ('x') or one above the other ('y'), `gap` pixels of `fill` between them.
export function stack(images, { direction = 'y', gap = 0, fill = [255, 0, 255, 255] } = {}) {
  const horiz = direction === 'x';
  const width = horiz ? images.reduce((s, i) => s + i.width, 0) + gap * Math.max(0, images.length - 1) : Math.max(0, ...images.map((i) => i.width));
  const height = horiz ? Math.max(0, ...images.map((i) => i.height)) : images.reduce((s, i) => s + i.height, 0) + gap * Math.max(0, images.length - 1);
  const data = Buffer.alloc(width * height * 4, Buffer.from(fill));
  let at = 0;
  for (const img of images) {
    for (let y = 0; y < img.height; y++) {
      const dx = horiz ? at : 0, dy = horiz ? y : at + y;
      img.data.copy(data, (dy * width + dx) * 4, y * img.width * 4, (y + 1) * img.width * 4);
    }
    at += (horiz ? img.width : img.height) + gap;
  }
  return withPixel({ width, height, data });
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// An RGBA image as PNG bytes (8-bit RGBA, filter 0 on every row).
export function encodePng(img) {
  const { width, height, data } = img;
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) data.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  const chunk = (type, body) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(tb));
    return Buffer.concat([len, tb, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;   // bit depth
  ihdr[9] = 6;   // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
