/* json_kind.h - how error messages name a JSON value's type ("an integer", "a string", ...),
 * shared by the safetensors header and Hugging Face config readers. */
#ifndef LQ_FORMATS_JSON_KIND_H
#define LQ_FORMATS_JSON_KIND_H

#include <jansson.h>

static inline const char *lqi_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

#endif
