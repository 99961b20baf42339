package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting the key check walks; the contract's inputs nest
// three levels at most.
const maxJSONDepth = 16

// decodeStrict unmarshals one JSON value of at most limit bytes. Beyond what
// encoding/json refuses, it refuses unknown fields, trailing data, invalid
// UTF-8, a key that repeats another in the same object (encoding/json keeps
// the last, so two peers' readers could disagree on what was signed) and a
// key that names a field in another case (encoding/json would bind
// "SessionId" to sessionId, so one spec could have two spellings).
func decodeStrict(field, raw string, limit int, out any) error {
	if len(raw) > limit {
		return fail(CodeBadArgument, "%s is %d bytes; the limit is %d", field, len(raw), limit)
	}
	if !utf8.ValidString(raw) {
		return fail(CodeBadArgument, "%s is not valid UTF-8", field)
	}
	if err := checkJSONKeys(raw, reflect.TypeOf(out)); err != nil {
		return fail(CodeBadArgument, "%s is not valid JSON of the expected shape: %v", field, err)
	}
	decoder := json.NewDecoder(strings.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(out); err != nil {
		return fail(CodeBadArgument, "%s is not valid JSON of the expected shape: %v", field, err)
	}
	if decoder.More() {
		return fail(CodeBadArgument, "%s has data after its JSON value", field)
	}
	return nil
}

// checkJSONKeys walks the first JSON value of raw along the Go type it will be
// decoded into, checking the keys of every object. Malformed JSON is left to
// the decoder, which reports it with a position.
func checkJSONKeys(raw string, target reflect.Type) error {
	decoder := json.NewDecoder(bytes.NewReader([]byte(raw)))
	decoder.UseNumber()
	err := walkJSONValue(decoder, target, 0)
	var bad keyError
	if errors.As(err, &bad) {
		return bad
	}
	return nil
}

// keyError is a broken key rule; any other error of the walk is malformed JSON.
type keyError string

func (e keyError) Error() string { return string(e) }

func keyErrorf(format string, args ...any) error {
	return keyError(fmt.Sprintf(format, args...))
}

// walkJSONValue reads one value; t is the Go type it decodes into, or nil when unknown.
func walkJSONValue(decoder *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxJSONDepth {
		return keyErrorf("JSON nests deeper than %d levels", maxJSONDepth)
	}
	token, err := decoder.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch token {
	case json.Delim('{'):
		return walkJSONObject(decoder, t, depth)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for decoder.More() {
			if err := walkJSONValue(decoder, elem, depth+1); err != nil {
				return err
			}
		}
		_, err := decoder.Token()
		return err
	}
	return nil
}

// walkJSONObject checks the keys of one object whose '{' was just read.
func walkJSONObject(decoder *json.Decoder, t reflect.Type, depth int) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]string{}
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return err
		}
		key, _ := token.(string)
		folded := strings.ToLower(key)
		if previous, repeated := seen[folded]; repeated {
			if previous == key {
				return keyErrorf("key %q appears twice in one object", key)
			}
			return keyErrorf("keys %q and %q differ only in case", previous, key)
		}
		seen[folded] = key
		valueType, err := jsonValueType(t, fields, key)
		if err != nil {
			return err
		}
		if err := walkJSONValue(decoder, valueType, depth+1); err != nil {
			return err
		}
	}
	_, err := decoder.Token()
	return err
}

// jsonValueType is the Go type of the value under key in an object decoded into t.
func jsonValueType(t reflect.Type, fields map[string]reflect.Type, key string) (reflect.Type, error) {
	switch {
	case t == nil:
		return nil, nil
	case t.Kind() == reflect.Map:
		return t.Elem(), nil
	case fields == nil:
		return nil, nil // the decoder reports the type mismatch
	}
	if fieldType, known := fields[key]; known {
		return fieldType, nil
	}
	for name := range fields {
		if strings.EqualFold(name, key) {
			return nil, keyErrorf("key %q should be spelled %q (field names are case-sensitive)", key, name)
		}
	}
	return nil, keyErrorf("unknown field %q", key)
}

// jsonFields maps the exact JSON names of a struct's fields to their types,
// including the fields promoted from embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!field.IsExported() && !field.Anonymous):
			continue
		case field.Anonymous && name == "" && field.Type.Kind() == reflect.Struct:
			for inner, innerType := range jsonFields(field.Type) {
				fields[inner] = innerType
			}
		case name == "":
			fields[field.Name] = field.Type
		default:
			fields[name] = field.Type
		}
	}
	return fields
}
