package authhttp

import (
	"encoding/json"
	"errors"

	"github.com/goauthkit/auth/internal/strictjson"
)

// Strict JSON request bodies, read by strictjson.Scan (which says why not
// encoding/json) with its Body rules: exactly one object, member names
// compared byte for byte and never repeated at any level, and a 400 for an
// unpaired surrogate escape, invalid UTF-8 or nesting deeper than
// strictjson.MaxDepth anywhere in the body. Members no one asks for are
// ignored.

// JSON body errors: each a *RequestError with a fixed reason.
var (
	errJSONSyntax    = badRequest("the body is not valid JSON")
	errJSONNotObject = badRequest("the body is not a JSON object")
	errJSONDuplicate = badRequest("the body repeats a member name")
	errJSONSurrogate = badRequest("the body holds an unpaired UTF-16 surrogate escape")
	errJSONUTF8      = badRequest("the body is not valid UTF-8")
	errJSONDepth     = badRequest("the body is nested too deeply")
)

// bodyJSONErrors is the answer to each error of strictjson.Scan.
var bodyJSONErrors = [...]error{
	strictjson.ErrSyntax:    errJSONSyntax,
	strictjson.ErrNotObject: errJSONNotObject,
	strictjson.ErrDuplicate: errJSONDuplicate,
	strictjson.ErrSurrogate: errJSONSurrogate,
	strictjson.ErrUTF8:      errJSONUTF8,
	strictjson.ErrDepth:     errJSONDepth,
}

// jsonKind is the type of a top-level member's value.
type jsonKind uint8

const (
	jsonOther  jsonKind = iota // number, boolean, array or object
	jsonString                 // a string, decoded in jsonValue.str
	jsonNull
)

// jsonValue is a top-level member of a JSON body. Only strings are decoded:
// request bodies of this package hold nothing else.
type jsonValue struct {
	kind jsonKind
	str  string
	raw  []byte // the value as sent, for jsonOther
}

// jsonObject is the top-level members of a JSON body, by exact name.
type jsonObject map[string]jsonValue

// stringField returns the string member name. A member that is absent or
// null is missing: ok is false. A member of another type is an error.
func (o jsonObject) stringField(name string, typeErr error) (s string, ok bool, err error) {
	v, present := o[name]
	switch {
	case !present || v.kind == jsonNull:
		return "", false, nil
	case v.kind != jsonString:
		return "", false, typeErr
	}
	return v.str, true, nil
}

// boolField returns the boolean member name; absent or null is missing.
func (o jsonObject) boolField(name string, typeErr error) (b, ok bool, err error) {
	v, present := o[name]
	switch {
	case !present || v.kind == jsonNull:
		return false, false, nil
	case v.kind == jsonOther && string(v.raw) == "true":
		return true, true, nil
	case v.kind == jsonOther && string(v.raw) == "false":
		return false, true, nil
	}
	return false, false, typeErr
}

// stringsField returns the member name, an array of strings; absent or
// null is missing. (The body was checked whole by strictjson.Scan, so
// encoding/json only has well-formed, duplicate-free UTF-8 to decode.)
func (o jsonObject) stringsField(name string, typeErr error) (ss []string, ok bool, err error) {
	v, present := o[name]
	switch {
	case !present || v.kind == jsonNull:
		return nil, false, nil
	case v.kind != jsonOther || len(v.raw) == 0 || v.raw[0] != '[':
		return nil, false, typeErr
	}
	if err := json.Unmarshal(v.raw, &ss); err != nil {
		return nil, false, typeErr
	}
	if ss == nil {
		ss = []string{}
	}
	return ss, true, nil
}

// parseJSONObject parses data, which must be one JSON object with optional
// white space around it, and returns its top-level members. Every error is a
// *RequestError.
func parseJSONObject(data []byte) (jsonObject, error) {
	obj := make(jsonObject)
	err := strictjson.Scan(data, strictjson.Body, func(name, value []byte) error {
		var v jsonValue
		switch value[0] {
		case '"':
			v = jsonValue{kind: jsonString, str: strictjson.StringValue(value)}
		case 'n':
			v.kind = jsonNull
		default:
			v.raw = value
		}
		obj[string(name)] = v
		return nil
	})
	if err != nil {
		var scanErr strictjson.Error
		if errors.As(err, &scanErr) { // member never fails: every error is Scan's
			return nil, bodyJSONErrors[scanErr]
		}
		return nil, errJSONSyntax
	}
	return obj, nil
}
