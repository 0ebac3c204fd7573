/* json.c - strict RFC 8259 JSON parser (recursive descent with a depth
   limit, duplicate keys rejected) and a streaming writer. Contract in json.h. */
#include "io/json.h"
#include "io/file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct JsonValue {
    JsonType type;
    int boolean;
    size_t n;              /* string bytes, or number of elements / members */
    union {
        double num;
        char *str;         /* NUL-terminated, no NUL inside */
        JsonValue *items;  /* array elements or object member values */
    } u;
    char *key;             /* member name when this value sits in an object */
    size_t *sorted;        /* objects: member indices ordered by key (strcmp) */
};

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */

/* Length (1..4) of the valid UTF-8 sequence at s (avail bytes left), or 0
   if it is not valid: overlong forms, UTF-16 surrogates (U+D800..DFFF) and
   code points above U+10FFFF are invalid (RFC 3629 table 3-7). */
static size_t json__utf8_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t need; unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) need = 2;
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else return 0;
    if (avail < need + 1) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i <= need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return need + 1;
}

static size_t json__utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------ */
/* parser                                                              */

typedef struct {
    const char *s;
    size_t len, pos;
    size_t nvalues;
    char *err;
    size_t errlen;
    int failed;
} JsonParser;

/* Describes the byte at pos for an error: 'x', byte 0x1f, or end of input. */
static void json__found(const JsonParser *p, size_t pos, char *buf, size_t n) {
    if (pos >= p->len) { snprintf(buf, n, "end of input"); return; }
    unsigned char c = (unsigned char)p->s[pos];
    if (c >= 0x20 && c < 0x7F) snprintf(buf, n, "'%c'", c);
    else snprintf(buf, n, "byte 0x%02x", c);
}

/* Records the first error as "line L col C: <message>" (both 1-based,
   columns count bytes). Always returns -1. */
static int json__fail_at(JsonParser *p, size_t pos, const char *fmt, ...) {
    if (p->failed) return -1;
    p->failed = 1;
    if (!p->err || p->errlen == 0) return -1;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < p->len; i++) {
        if (p->s[i] == '\n') { line++; col = 1; } else col++;
    }
    char msg[320];
    va_list ap; va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %zu col %zu: %s", line, col, msg);
    return -1;
}

/* "expected <what>, found <the byte at pos>" */
static int json__expected(JsonParser *p, size_t pos, const char *what) {
    char found[32];
    json__found(p, pos, found, sizeof found);
    return json__fail_at(p, pos, "expected %s, found %s", what, found);
}

/* A key, quoted and shortened for an error message: non-printable bytes
   become '?', more than 48 bytes end with "...". */
static void json__quote_key(const char *key, char *buf, size_t n) {
    size_t j = 0, i = 0;
    if (n < 8) { if (n) buf[0] = 0; return; }
    buf[j++] = '\'';
    for (; key[i] && i < 48 && j + 5 < n; i++) {
        unsigned char c = (unsigned char)key[i];
        buf[j++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    if (key[i] && j + 5 < n) { buf[j++] = '.'; buf[j++] = '.'; buf[j++] = '.'; }
    buf[j++] = '\'';
    buf[j] = 0;
}

static void json__skip_ws(JsonParser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
        else break;
    }
}

static void json__free_inner(JsonValue *v);

static int json__parse_value(JsonParser *p, JsonValue *out, int depth);

static int json__hex4(JsonParser *p, size_t pos, uint32_t *out) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (pos + i >= p->len) return json__expected(p, pos + i, "4 hex digits after \\u");
        char c = p->s[pos + i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
        else return json__expected(p, pos + i, "4 hex digits after \\u");
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Parses the string starting at the opening quote at p->pos into a fresh
   NUL-terminated buffer. The decoded bytes never outnumber the source bytes
   (an escape of 2..12 chars yields 1..4 bytes), so one allocation of the
   quoted span's length suffices. */
static int json__parse_string(JsonParser *p, char **out, size_t *outlen) {
    size_t start = p->pos + 1, end = start;
    while (1) {   /* find the closing quote */
        if (end >= p->len) return json__fail_at(p, p->pos, "unterminated string (no closing '\"')");
        char c = p->s[end];
        if (c == '"') break;
        if (c == '\\') end++;
        end++;
    }
    char *buf = malloc(end - start + 1);
    if (!buf) return json__fail_at(p, p->pos, "out of memory");
    size_t n = 0, i = start;
    const unsigned char *s = (const unsigned char *)p->s;
    while (i < end) {
        unsigned char c = s[i];
        if (c < 0x20) {
            free(buf);
            char found[32]; json__found(p, i, found, sizeof found);
            return json__fail_at(p, i, "expected a string character, found control %s (escape it)", found);
        }
        if (c != '\\') {
            size_t k = json__utf8_len(s + i, end - i);
            if (k == 0) { free(buf); return json__fail_at(p, i, "invalid UTF-8 byte 0x%02x in string", c); }
            memcpy(buf + n, s + i, k);
            n += k; i += k;
            continue;
        }
        /* escape: end was found skipping the char after '\\', so i+1 < end */
        char e = (char)s[i + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default:
            free(buf);
            return json__expected(p, i + 1, "an escape (one of \" \\ / b f n r t u) after '\\'");
        }
        if (simple) { buf[n++] = simple; i += 2; continue; }
        uint32_t cp;
        if (i + 6 > end || json__hex4(p, i + 2, &cp) < 0) {
            free(buf);
            if (!p->failed) json__expected(p, end, "4 hex digits after \\u");
            return -1;
        }
        size_t esc_pos = i;
        i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return json__fail_at(p, esc_pos, "lone low surrogate \\u%04x (expected a high surrogate first)", (unsigned)cp);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (i + 6 > end || s[i] != '\\' || s[i + 1] != 'u' || json__hex4(p, i + 2, &lo) < 0 ||
                lo < 0xDC00 || lo > 0xDFFF) {
                free(buf);
                p->failed = 0;   /* replace a hex-digit message by the clearer one */
                return json__fail_at(p, esc_pos, "high surrogate \\u%04x not followed by a low surrogate \\uDC00..\\uDFFF", (unsigned)cp);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (cp == 0) { free(buf); return json__fail_at(p, esc_pos, "\\u0000 (NUL) is not allowed in strings"); }
        n += json__utf8_put(buf + n, cp);
    }
    buf[n] = 0;
    p->pos = end + 1;
    *out = buf;
    *outlen = n;
    return 0;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json__parse_number(JsonParser *p, JsonValue *out) {
    size_t start = p->pos, i = p->pos;
    const char *s = p->s;
#define JSON_DIGIT(k) ((k) < p->len && s[k] >= '0' && s[k] <= '9')
    if (i < p->len && s[i] == '-') i++;
    if (!JSON_DIGIT(i)) return json__expected(p, i, "a digit");
    if (s[i] == '0') {
        i++;
        if (JSON_DIGIT(i)) return json__fail_at(p, i, "leading zeros are not allowed in numbers");
    } else {
        while (JSON_DIGIT(i)) i++;
    }
    if (i < p->len && s[i] == '.') {
        i++;
        if (!JSON_DIGIT(i)) return json__expected(p, i, "a digit after '.'");
        while (JSON_DIGIT(i)) i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (!JSON_DIGIT(i)) return json__expected(p, i, "a digit in the exponent");
        while (JSON_DIGIT(i)) i++;
    }
#undef JSON_DIGIT
    size_t n = i - start;
    if (n > JSON_MAX_NUMBER_CHARS)
        return json__fail_at(p, start, "number of %zu characters (at most %d allowed)", n, JSON_MAX_NUMBER_CHARS);
    char buf[JSON_MAX_NUMBER_CHARS + 1];
    memcpy(buf, s + start, n);
    buf[n] = 0;
    char *endp;
    errno = 0;
    double v = strtod(buf, &endp);
    if (endp != buf + n) return json__fail_at(p, start, "malformed number '%s'", buf);
    if (isinf(v)) return json__fail_at(p, start, "number out of range for a double");
    out->type = JSON_NUMBER;
    out->u.num = v;
    p->pos = i;
    return 0;
}

static int json__parse_literal(JsonParser *p, JsonValue *out) {
    static const struct { const char *word; JsonType type; int b; } lits[] = {
        {"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0},
    };
    for (size_t k = 0; k < 3; k++) {
        size_t wl = strlen(lits[k].word);
        if (p->s[p->pos] != lits[k].word[0]) continue;
        if (p->len - p->pos < wl || memcmp(p->s + p->pos, lits[k].word, wl) != 0) {
            char what[16]; snprintf(what, sizeof what, "'%s'", lits[k].word);
            size_t j = 0;   /* point at the first byte that differs */
            while (j < wl && p->pos + j < p->len && p->s[p->pos + j] == lits[k].word[j]) j++;
            return json__expected(p, p->pos + j, what);
        }
        out->type = lits[k].type;
        out->boolean = lits[k].b;
        p->pos += wl;
        return 0;
    }
    return json__expected(p, p->pos, "a value");
}

/* Grows a container's item array to hold at least one more element;
   the new slot is zeroed (a JSON_NULL with nothing to free). */
static JsonValue *json__push(JsonParser *p, JsonValue *c, size_t *cap) {
    if (c->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        if (ncap > SIZE_MAX / sizeof(JsonValue)) { json__fail_at(p, p->pos, "out of memory"); return NULL; }
        JsonValue *ni = realloc(c->u.items, ncap * sizeof(JsonValue));
        if (!ni) { json__fail_at(p, p->pos, "out of memory"); return NULL; }
        c->u.items = ni;
        *cap = ncap;
    }
    JsonValue *slot = &c->u.items[c->n++];
    memset(slot, 0, sizeof *slot);
    return slot;
}

static int json__parse_array(JsonParser *p, JsonValue *out, int depth) {
    out->type = JSON_ARRAY;
    size_t cap = 0;
    p->pos++;   /* '[' */
    json__skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 0; }
    while (1) {
        JsonValue *slot = json__push(p, out, &cap);
        if (!slot || json__parse_value(p, slot, depth) < 0) return -1;
        json__skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; return 0; }
        return json__expected(p, p->pos, "',' or ']'");
    }
}

/* Merge sort of member indices by key: stable, O(n log n), no global state. */
static void json__sort_keys(size_t *idx, size_t *tmp, size_t n, const JsonValue *items) {
    if (n < 2) return;
    size_t h = n / 2;
    json__sort_keys(idx, tmp, h, items);
    json__sort_keys(idx + h, tmp, n - h, items);
    size_t a = 0, b = h, k = 0;
    while (a < h && b < n)
        tmp[k++] = strcmp(items[idx[b]].key, items[idx[a]].key) < 0 ? idx[b++] : idx[a++];
    while (a < h) tmp[k++] = idx[a++];
    while (b < n) tmp[k++] = idx[b++];
    memcpy(idx, tmp, n * sizeof *idx);
}

/* Builds the sorted key index and rejects duplicate keys, reporting the
   position of the later occurrence (keypos[i] = offset of member i's key). */
static int json__index_object(JsonParser *p, JsonValue *obj, const size_t *keypos) {
    size_t n = obj->n;
    if (n == 0) return 0;
    obj->sorted = malloc(n * sizeof(size_t));
    size_t *tmp = malloc(n * sizeof(size_t));
    if (!obj->sorted || !tmp) { free(tmp); return json__fail_at(p, p->pos, "out of memory"); }
    for (size_t i = 0; i < n; i++) obj->sorted[i] = i;
    json__sort_keys(obj->sorted, tmp, n, obj->u.items);
    free(tmp);
    for (size_t i = 1; i < n; i++) {
        size_t a = obj->sorted[i - 1], b = obj->sorted[i];
        if (strcmp(obj->u.items[a].key, obj->u.items[b].key) == 0) {
            size_t later = a > b ? a : b;
            char q[64]; json__quote_key(obj->u.items[later].key, q, sizeof q);
            return json__fail_at(p, keypos[later], "duplicate key %s in object", q);
        }
    }
    return 0;
}

static int json__parse_object(JsonParser *p, JsonValue *out, int depth) {
    out->type = JSON_OBJECT;
    size_t cap = 0, poscap = 0;
    size_t *keypos = NULL;
    int rc = -1;
    p->pos++;   /* '{' */
    json__skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; return 0; }
    while (1) {
        json__skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') { json__expected(p, p->pos, "a '\"' starting an object key"); goto done; }
        size_t kpos = p->pos;
        char *key; size_t klen;
        if (json__parse_string(p, &key, &klen) < 0) goto done;
        JsonValue *slot = json__push(p, out, &cap);
        if (!slot) { free(key); goto done; }
        slot->key = key;
        if (out->n > poscap) {
            size_t nc = poscap ? poscap * 2 : 4;
            size_t *np = realloc(keypos, nc * sizeof *np);
            if (!np) { json__fail_at(p, p->pos, "out of memory"); goto done; }
            keypos = np; poscap = nc;
        }
        keypos[out->n - 1] = kpos;
        json__skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') { json__expected(p, p->pos, "':' after an object key"); goto done; }
        p->pos++;
        if (json__parse_value(p, slot, depth) < 0) goto done;
        json__skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; break; }
        json__expected(p, p->pos, "',' or '}'");
        goto done;
    }
    rc = json__index_object(p, out, keypos);
done:
    free(keypos);
    return rc;
}

static int json__parse_value(JsonParser *p, JsonValue *out, int depth) {
    json__skip_ws(p);
    if (p->pos >= p->len) return json__expected(p, p->pos, "a value");
    if (++p->nvalues > JSON_MAX_VALUES)
        return json__fail_at(p, p->pos, "more than %zu values in one document", (size_t)JSON_MAX_VALUES);
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (depth + 1 > JSON_MAX_DEPTH)
            return json__fail_at(p, p->pos, "nesting deeper than %d levels", JSON_MAX_DEPTH);
        return c == '{' ? json__parse_object(p, out, depth + 1) : json__parse_array(p, out, depth + 1);
    }
    if (c == '"') {
        out->type = JSON_STRING;
        return json__parse_string(p, &out->u.str, &out->n);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return json__parse_number(p, out);
    if (c == 't' || c == 'f' || c == 'n') return json__parse_literal(p, out);
    return json__expected(p, p->pos, "a value (object, array, string, number, true, false or null)");
}

JsonValue *json_parse(const char *text, size_t len, char *err, size_t errlen) {
    JsonParser p = {text, len, 0, 0, err, errlen, 0};
    if (err && errlen) err[0] = 0;
    if (!text) { p.len = 0; p.s = ""; json__fail_at(&p, 0, "no text (NULL)"); return NULL; }
    if (len > JSON_MAX_TEXT) {
        p.len = 0;
        json__fail_at(&p, 0, "text of %zu bytes exceeds the limit of %zu", len, (size_t)JSON_MAX_TEXT);
        return NULL;
    }
    JsonValue *v = calloc(1, sizeof *v);
    if (!v) { json__fail_at(&p, 0, "out of memory"); return NULL; }
    if (json__parse_value(&p, v, 0) == 0) {
        json__skip_ws(&p);
        if (p.pos == p.len) return v;
        json__expected(&p, p.pos, "end of input after the value");
    }
    json_free(v);
    return NULL;
}

static void json__free_inner(JsonValue *v) {
    if (v->type == JSON_STRING) free(v->u.str);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->n; i++) json__free_inner(&v->u.items[i]);
        free(v->u.items);
        free(v->sorted);
    }
    free(v->key);
}

void json_free(JsonValue *v) {
    if (!v) return;
    json__free_inner(v);
    free(v);
}

/* ------------------------------------------------------------------ */
/* accessors                                                           */

JsonType json_type(const JsonValue *v) { return v ? v->type : JSON_NULL; }

int json_equal(const JsonValue *a, const JsonValue *b, int (*skip_key)(const char *key)) {
    if (json_type(a) != json_type(b)) return 0;
    switch (json_type(a)) {
    case JSON_NULL: return 1;
    case JSON_BOOL: return json_bool(a) == json_bool(b);
    case JSON_NUMBER: return json_number(a) == json_number(b);
    case JSON_STRING: return !strcmp(json_string(a), json_string(b));
    case JSON_ARRAY:
        if (json_len(a) != json_len(b)) return 0;
        for (size_t i = 0; i < json_len(a); i++)
            if (!json_equal(json_at(a, i), json_at(b, i), skip_key)) return 0;
        return 1;
    case JSON_OBJECT:
        if (json_len(a) != json_len(b)) return 0;
        for (size_t i = 0; i < json_len(a); i++) {
            const char *k = json_key_at(a, i);
            if (skip_key && skip_key(k)) continue;
            const JsonValue *vb = json_get(b, k);
            if (!vb || !json_equal(json_at(a, i), vb, skip_key)) return 0;
        }
        return 1;
    }
    return 0;
}

const char *json_type_name(JsonType t) {
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "bool";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "?";
}

size_t json_len(const JsonValue *v) {
    return (v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT)) ? v->n : 0;
}

const JsonValue *json_at(const JsonValue *v, size_t i) {
    return (i < json_len(v)) ? &v->u.items[i] : NULL;
}

const char *json_key_at(const JsonValue *v, size_t i) {
    return (v && v->type == JSON_OBJECT && i < v->n) ? v->u.items[i].key : NULL;
}

const JsonValue *json_get(const JsonValue *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key || obj->n == 0) return NULL;
    size_t lo = 0, hi = obj->n;   /* binary search in [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const JsonValue *m = &obj->u.items[obj->sorted[mid]];
        int c = strcmp(m->key, key);
        if (c == 0) return m;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

double json_number(const JsonValue *v) { return (v && v->type == JSON_NUMBER) ? v->u.num : 0.0; }
const char *json_string(const JsonValue *v) { return (v && v->type == JSON_STRING) ? v->u.str : NULL; }
size_t json_string_len(const JsonValue *v) { return (v && v->type == JSON_STRING) ? v->n : 0; }
int json_bool(const JsonValue *v) { return (v && v->type == JSON_BOOL) ? v->boolean : 0; }

/* ------------------------------------------------------------------ */
/* writer                                                              */

void jw_init(JsonWriter *w, FILE *f, int pretty) {
    memset(w, 0, sizeof *w);
    w->f = f;
    w->pretty = pretty;
    if (!f) w->error = 1;
}

int jw_error(const JsonWriter *w) { return w->error || (w->f && ferror(w->f)); }

static void jw__puts(JsonWriter *w, const char *s) {
    if (!w->error && fputs(s, w->f) == EOF) w->error = 1;
}

static void jw__putc(JsonWriter *w, char c) {
    if (!w->error && fputc(c, w->f) == EOF) w->error = 1;
}

static void jw__newline_indent(JsonWriter *w, int depth) {
    if (!w->pretty) return;
    jw__putc(w, '\n');
    for (int i = 0; i < depth; i++) jw__puts(w, "  ");
}

/* Separator and indentation due before a value; 0 if a value may come. */
static int jw__before_value(JsonWriter *w) {
    if (w->error) return -1;
    if (w->done) { w->error = 1; return -1; }           /* a second top-level value */
    if (w->depth == 0) return 0;
    if (w->is_obj[w->depth]) {
        if (!w->after_key) { w->error = 1; return -1; }  /* object member without a key */
        w->after_key = 0;
        return 0;
    }
    if (w->count_nz[w->depth]) jw__putc(w, ',');
    w->count_nz[w->depth] = 1;
    jw__newline_indent(w, w->depth);
    return 0;
}

static void jw__after_value(JsonWriter *w) {
    if (w->depth == 0) {
        w->done = 1;
        if (w->pretty) jw__putc(w, '\n');
    }
}

static void jw__begin(JsonWriter *w, int is_obj) {
    if (jw__before_value(w) < 0) return;
    if (w->depth >= JSON_MAX_DEPTH) { w->error = 1; return; }
    jw__putc(w, is_obj ? '{' : '[');
    w->depth++;
    w->is_obj[w->depth] = (unsigned char)is_obj;
    w->count_nz[w->depth] = 0;
}

static void jw__end(JsonWriter *w, int is_obj) {
    if (w->error) return;
    if (w->depth == 0 || w->is_obj[w->depth] != is_obj || w->after_key) { w->error = 1; return; }
    if (w->count_nz[w->depth]) jw__newline_indent(w, w->depth - 1);
    jw__putc(w, is_obj ? '}' : ']');
    w->depth--;
    jw__after_value(w);
}

void jw_object_begin(JsonWriter *w) { jw__begin(w, 1); }
void jw_object_end(JsonWriter *w) { jw__end(w, 1); }
void jw_array_begin(JsonWriter *w) { jw__begin(w, 0); }
void jw_array_end(JsonWriter *w) { jw__end(w, 0); }

/* Writes s as a quoted JSON string; invalid UTF-8 bytes become U+FFFD. */
static void jw__quoted(JsonWriter *w, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str);
    jw__putc(w, '"');
    for (size_t i = 0; i < len && !w->error;) {
        unsigned char c = s[i];
        char esc[8] = {0};
        switch (c) {
        case '"': jw__puts(w, "\\\""); i++; continue;
        case '\\': jw__puts(w, "\\\\"); i++; continue;
        case '\b': jw__puts(w, "\\b"); i++; continue;
        case '\f': jw__puts(w, "\\f"); i++; continue;
        case '\n': jw__puts(w, "\\n"); i++; continue;
        case '\r': jw__puts(w, "\\r"); i++; continue;
        case '\t': jw__puts(w, "\\t"); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jw__puts(w, esc);
            i++;
            continue;
        }
        size_t k = json__utf8_len(s + i, len - i);
        if (k == 0) { jw__puts(w, "\xEF\xBF\xBD"); i++; continue; }
        if (!w->error && fwrite(s + i, 1, k, w->f) != k) w->error = 1;
        i += k;
    }
    jw__putc(w, '"');
}

void jw_key(JsonWriter *w, const char *key) {
    if (w->error) return;
    if (w->depth == 0 || !w->is_obj[w->depth] || w->after_key || !key) { w->error = 1; return; }
    if (w->count_nz[w->depth]) jw__putc(w, ',');
    w->count_nz[w->depth] = 1;
    jw__newline_indent(w, w->depth);
    jw__quoted(w, key);
    jw__puts(w, w->pretty ? ": " : ":");
    w->after_key = 1;
}

void jw_string(JsonWriter *w, const char *s) {
    if (!s) { jw_null(w); return; }
    if (jw__before_value(w) < 0) return;
    jw__quoted(w, s);
    jw__after_value(w);
}

char *jw_format_number(double x, char buf[32]) {
    if (!isfinite(x)) { strcpy(buf, "null"); return buf; }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;   /* %.17g always round-trips */
    }
    return buf;
}

void jw_number(JsonWriter *w, double x) {
    if (jw__before_value(w) < 0) return;
    char buf[32];
    jw__puts(w, jw_format_number(x, buf));
    jw__after_value(w);
}

void jw_int(JsonWriter *w, long long x) {
    if (jw__before_value(w) < 0) return;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", x);
    jw__puts(w, buf);
    jw__after_value(w);
}

void jw_bool(JsonWriter *w, int b) {
    if (jw__before_value(w) < 0) return;
    jw__puts(w, b ? "true" : "false");
    jw__after_value(w);
}

void jw_null(JsonWriter *w) {
    if (jw__before_value(w) < 0) return;
    jw__puts(w, "null");
    jw__after_value(w);
}

void jw_kv_string(JsonWriter *w, const char *key, const char *s) { jw_key(w, key); jw_string(w, s); }
void jw_kv_number(JsonWriter *w, const char *key, double x) { jw_key(w, key); jw_number(w, x); }
void jw_kv_int(JsonWriter *w, const char *key, long long x) { jw_key(w, key); jw_int(w, x); }
void jw_kv_bool(JsonWriter *w, const char *key, int b) { jw_key(w, key); jw_bool(w, b); }

JsonValue *json_read_file(const char *path, size_t max_bytes, char *err, size_t errlen) {
    uint8_t *buf;
    size_t len;
    if (io_read_file(path, max_bytes, &buf, &len, err, errlen)) return NULL;
    char e2[256];
    JsonValue *v = json_parse((char *)buf, len, e2, sizeof e2);
    free(buf);
    if (!v) err_fail(err, errlen, "%s: %s", path, e2);
    return v;
}
