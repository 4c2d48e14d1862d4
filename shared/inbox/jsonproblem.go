package inbox

import (
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
)

// JSONProblem turns an error from decoding a request's JSON into an invalid
// error a caller can act on: it names the JSON path at fault and the JSON
// type expected there, never Go's types or field names, which
// encoding/json's own messages carry. at is where the decoded value sits
// in the request ("" for the whole body, "entry[0].changes[1].value" for a
// part decoded on its own).
func JSONProblem(err error, at string) *Error {
	var own *Error
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &own):
		return own
	case errors.As(err, &syntax) && syntax.Error() != "unexpected end of JSON input":
		return Invalid(at, "malformed JSON%s at byte %d", within(at), syntax.Offset)
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid(at, "the JSON%s is empty or cut short", within(at))
	case errors.As(err, &typ):
		path := jsonPath(at, typ.Field)
		if path == "" {
			return Invalid("", "the body must be %s, not %s", jsonKind(typ.Type), jsonValue(typ.Value))
		}
		return Invalid(path, "%s must be %s, not %s", path, jsonKind(typ.Type), jsonValue(typ.Value))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		path := jsonPath(at, strings.Trim(f, `"`))
		return Invalid(path, "unknown field %q", path)
	}
	return Invalid(at, "the JSON%s does not have the documented shape", within(at))
}

func within(at string) string {
	if at == "" {
		return ""
	}
	return " in " + at
}

func jsonPath(at, field string) string {
	switch {
	case at == "":
		return field
	case field == "":
		return at
	}
	return at + "." + field
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonKind says in JSON's words what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number of zero or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a JSON value"
}

// jsonValue phrases what encoding/json found: "string", "number 1.5",
// "array", "object", "bool".
func jsonValue(found string) string {
	switch kind, detail, _ := strings.Cut(found, " "); kind {
	case "number":
		if detail != "" {
			return "the number " + detail
		}
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "array":
		return "an array"
	case "object":
		return "an object"
	case "null":
		return "null"
	}
	return "another kind of value"
}
