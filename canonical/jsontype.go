package canonical

import (
	"encoding/json"
	"reflect"
	"strings"
)

// JSONTypeProblem says, in JSON's terms, what a value of the wrong type
// should have been: field "adults", "must be a whole number, not 1.5". Go's
// own text names Go types (int, map[string]json.RawMessage), which mean
// nothing to a partner or a caller. Field is "" for the top-level value.
func JSONTypeProblem(e *json.UnmarshalTypeError) FieldError {
	return FieldError{Field: e.Field, Message: "must be " + JSONKind(e.Type) + ", not " + jsonValue(e.Value)}
}

// DescribeJSONTypeError is JSONTypeProblem in one line, the top-level value
// being "the document": "adults must be a whole number, not 1.5".
func DescribeJSONTypeError(e *json.UnmarshalTypeError) string {
	p := JSONTypeProblem(e)
	if p.Field == "" {
		p.Field = "the document"
	}
	return p.Field + " " + p.Message
}

// JSONKind names the JSON value a Go type is read from: "an object", "a
// list", "a whole number", "a number", "a string" or "true or false".
func JSONKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.Number("")) {
		return "a number"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t != reflect.TypeOf(json.RawMessage(nil)) {
			return "a base64 string"
		}
		return "a list"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "another kind of value"
}

// jsonValue renders the value Go's decoder met ("string", "number 1.5",
// "array", "object", "bool") in JSON's terms.
func jsonValue(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "true or false"
	case v == "string":
		return "a string"
	case v == "number":
		return "a number"
	case strings.HasPrefix(v, "number "):
		return truncate(strings.TrimPrefix(v, "number "), 40)
	}
	return "a JSON " + truncate(v, 20)
}
