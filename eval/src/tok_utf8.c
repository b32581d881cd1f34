/* tok_utf8.c - UTF-8 as llama.cpp reads it, and GPT-2's byte-to-unicode alphabet. */
#include "tok_impl.h"

size_t lqi_utf8_len(unsigned char lead)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[lead >> 4];
}

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* llama.cpp checks only the lead bits and the continuation bytes (no overlong or
 * surrogate checks); code points past U+10FFFF would make it throw later, we take them
 * as invalid instead. */
uint32_t lqi_utf8_decode(const unsigned char *s, size_t n, size_t *pos)
{
    size_t i = *pos;
    unsigned char c = s[i];
    uint32_t cp;
    size_t k;
    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if (!(c & 0x40)) {
        goto invalid;
    }
    if (!(c & 0x20)) {
        k = 2;
        cp = c & 0x1F;
    } else if (!(c & 0x10)) {
        k = 3;
        cp = c & 0x0F;
    } else if (!(c & 0x08)) {
        k = 4;
        cp = c & 0x07;
    } else {
        goto invalid;
    }
    if (i + k > n) {
        goto invalid;
    }
    for (size_t j = 1; j < k; j++) {
        if (!is_cont(s[i + j])) {
            goto invalid;
        }
        cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp > 0x10FFFF) {
        goto invalid;
    }
    *pos = i + k;
    return cp;
invalid:
    *pos = i + 1;
    return 0xFFFD;
}

size_t lqi_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The Unicode White_Space property above ASCII (llama.cpp's table comes from it). */
bool lqi_is_unicode_space(uint32_t cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// ---- GPT-2 byte alphabet: printable Latin-1 bytes stand for themselves, the other 68
// ---- bytes (0x00-0x20, 0x7F-0xA0, 0xAD) get the code points 256, 257, ... in byte order.

uint32_t lqi_gpt2_byte_cp(unsigned char b)
{
    if (b <= 0x20) {
        return 256u + b;
    }
    if (b >= 0x7F && b <= 0xA0) {
        return 289u + (b - 0x7Fu);
    }
    return b == 0xAD ? 323u : b;
}

int lqi_gpt2_cp_byte(uint32_t cp)
{
    if (cp < 256) {
        bool printable = (cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp != 0xAD);
        return printable ? (int)cp : -1;
    }
    if (cp <= 288) {
        return (int)(cp - 256);
    }
    if (cp <= 322) {
        return (int)(cp - 289 + 0x7F);
    }
    return cp == 323 ? 0xAD : -1;
}
