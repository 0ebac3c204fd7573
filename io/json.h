/* json.h - a strict JSON (RFC 8259) parser safe on hostile input, and a
   streaming JSON writer used for every JSON file salient writes.

   Parser contract:
     char err[256];
     JsonValue *v = json_parse(text, len, err, sizeof err);
     if (!v) { fprintf(stderr, "%s\n", err); ... }   // "line 3 col 7: expected ',' or '}', found 'x'"
     const JsonValue *shape = json_get(v, "shape");
     for (size_t i = 0; i < json_len(shape); i++) json_number(json_at(shape, i));
     json_free(v);

   - Exactly one value, optional whitespace around it; anything else after it
     is an error ("trailing garbage"). No BOM, no comments, no NaN/Infinity.
   - Nesting depth at most JSON_MAX_DEPTH (64): deeper input is rejected
     before the recursion can grow the stack.
   - Strings: must be valid UTF-8 (no overlong forms, no surrogates, nothing
     above U+10FFFF); raw control characters (< 0x20, incl. NUL) rejected;
     escapes \" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs joined to one
     code point, lone surrogates rejected; \u0000 rejected so that every
     string is a plain NUL-terminated C string with no hidden cut.
   - Numbers: the RFC grammar checked byte by byte, then strtod on a bounded
     copy (at most JSON_MAX_NUMBER_CHARS chars). Values that overflow a
     double are rejected. strtod is locale-dependent: salient never calls
     setlocale, so the "C" locale's '.' is in force.
   - Objects: duplicate keys are rejected (so a reader never has to guess
     which one wins); members keep file order for json_key_at/json_at, and
     json_get is a binary search over a sorted index (O(log n)).
   - Limits: text at most JSON_MAX_TEXT bytes, at most JSON_MAX_VALUES values.
   Accessors are total: they take NULL or a value of the wrong type and
   answer NULL / 0 / 0.0 instead of crashing.

   Writer contract:
     JsonWriter w; jw_init(&w, stdout, 1);
     jw_object_begin(&w);
       jw_kv_string(&w, "model", "resnet18");
       jw_key(&w, "shape"); jw_array_begin(&w); jw_int(&w, 3); jw_int(&w, 224); jw_array_end(&w);
     jw_object_end(&w);                  // pretty mode ends the document with '\n'
     if (jw_error(&w)) ...               // misuse (key outside an object, depth > 64) or I/O error
   Commas, colons, indentation (2 spaces when pretty) and string escaping are
   the writer's job. Strings are written as UTF-8; bytes that are not valid
   UTF-8 become U+FFFD so the output is always valid JSON. Numbers use the
   shortest of %.15g/%.16g/%.17g that reads back to the same double;
   NaN and +-Inf are written as null. */
#ifndef IO_JSON_H
#define IO_JSON_H

#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_TEXT ((size_t)1 << 30)      /* 1 GiB of text */
#define JSON_MAX_VALUES ((size_t)5000000)    /* ~240 MB of nodes at most; a model header has ~10^4 */
#define JSON_MAX_NUMBER_CHARS 512

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct JsonValue JsonValue;

JsonValue *json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a whole file of at most max_bytes; NULL with the
   reader's message, or "PATH: <parse error>", in err. */
JsonValue *json_read_file(const char *path, size_t max_bytes, char *err, size_t errlen);
void json_free(JsonValue *v);

JsonType json_type(const JsonValue *v);                         /* JSON_NULL for NULL */
const char *json_type_name(JsonType t);                         /* "null", "object", ... */
size_t json_len(const JsonValue *v);                            /* array/object size, else 0 */
const JsonValue *json_at(const JsonValue *v, size_t i);         /* element/member value, NULL out of range */
const char *json_key_at(const JsonValue *v, size_t i);          /* member key, NULL if not an object */
const JsonValue *json_get(const JsonValue *obj, const char *key); /* NULL if absent or not an object */
double json_number(const JsonValue *v);                         /* 0.0 if not a number */
const char *json_string(const JsonValue *v);                    /* NULL if not a string */
size_t json_string_len(const JsonValue *v);                     /* bytes, 0 if not a string */
int json_bool(const JsonValue *v);                              /* 1 for true, 0 otherwise */
/* Structural equality: same types and values, arrays in order, objects with
   the same members in any order; members whose key skip_key accepts are not
   compared (skip_key may be NULL). Absent values (NULL) equal JSON null. */
int json_equal(const JsonValue *a, const JsonValue *b, int (*skip_key)(const char *key));

/* ---- writer ---- */
typedef struct {
    FILE *f;
    int pretty;
    int depth;                         /* open containers */
    unsigned char is_obj[JSON_MAX_DEPTH + 1];
    unsigned char count_nz[JSON_MAX_DEPTH + 1]; /* container has an element already */
    int after_key;                     /* a key was written, its value is due */
    int done;                          /* the top-level value is complete */
    int error;
} JsonWriter;

void jw_init(JsonWriter *w, FILE *f, int pretty);
void jw_object_begin(JsonWriter *w);
void jw_object_end(JsonWriter *w);
void jw_array_begin(JsonWriter *w);
void jw_array_end(JsonWriter *w);
void jw_key(JsonWriter *w, const char *key);
void jw_string(JsonWriter *w, const char *s);   /* NULL writes null */
void jw_number(JsonWriter *w, double x);
void jw_int(JsonWriter *w, long long x);
void jw_bool(JsonWriter *w, int b);
void jw_null(JsonWriter *w);
void jw_kv_string(JsonWriter *w, const char *key, const char *s);
void jw_kv_number(JsonWriter *w, const char *key, double x);
void jw_kv_int(JsonWriter *w, const char *key, long long x);
void jw_kv_bool(JsonWriter *w, const char *key, int b);
int jw_error(const JsonWriter *w);              /* nonzero after misuse or a failed write */

/* Shortest of %.15g/%.16g/%.17g that strtod reads back exactly; "null" for
   non-finite x. buf needs 32 bytes. Returns buf. */
char *jw_format_number(double x, char buf[32]);
#endif
