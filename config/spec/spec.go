// Package spec reads the configuration spec of a settings struct from its
// field tags, so that each setting is declared once, on its field: its key
// (the yaml tag, else the json tag), default, environment variable and
// documentation. The spec then applies defaults and environment values,
// and generates the documentation (the example file, `roomwire connectors
// --fields`), as Benthos's service.ConfigSpec does for its plugins.
//
// The tags of a field:
//
//	yaml:"key"      the key (json:"key" when there is no yaml tag); ",inline"
//	                puts a struct's keys beside the field's siblings
//	default:"10s"   the value of a key left out, written as in the file
//	env:"ROOMWIRE_X" an environment variable that sets the key
//	doc:"..."       what the key means, for people
//	zero:"..."      what 0 (or an empty text) means: a field with a meaning
//	                for zero keeps it when set in code (see SetDefaults)
//	enum:"a,b"      the values the key takes (its zero too, with a zero tag)
//	min:"1" max:"9" the range of a number or a duration
//	format:"url"    an absolute http(s) URL (or empty, unless required)
//	required:"true" the key must be given (or its environment variable)
//	secret:"true"   never printed or logged
//
// A struct field with a key is a section of keys; exported fields without a
// key are not settings.
package spec

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Field is one setting, or one section of settings, of a spec.
type Field struct {
	// Name is the dotted key, e.g. "webhooks.timeout".
	Name string
	// Type is string, int, float, bool, duration, []string, map or section.
	Type string
	// Default applies when the key is left out; "" when there is none.
	Default string
	// Env is the environment variable that sets the key, if any.
	Env string
	// Zero says what the zero value means, for a key where it means
	// something other than "the default".
	Zero string
	// Enum lists the values a text setting takes, when they are few.
	Enum []string
	// Min and Max bound a number or a duration, written as its default is.
	Min, Max string
	// Format is url for an absolute http(s) URL.
	Format      string
	Required    bool
	Secret      bool
	Description string

	index []int
}

// Section reports whether f groups other keys rather than being one.
func (f Field) Section() bool { return f.Type == "section" }

// Depth is how many sections f is inside.
func (f Field) Depth() int { return strings.Count(f.Name, ".") }

// Key is the last part of f's dotted name.
func (f Field) Key() string { return f.Name[strings.LastIndex(f.Name, ".")+1:] }

// Doc is f's documentation in one sentence: what it means, what its zero
// value means, and whether it is required or secret.
func (f Field) Doc() string {
	d := f.Description
	if len(f.Enum) > 0 {
		d = strings.TrimSuffix(OneOf(f.Enum)+"; "+d, "; ")
	}
	var notes []string
	switch {
	case f.Min != "" && f.Max != "":
		notes = append(notes, "from "+f.Min+" to "+f.Max)
	case f.Min != "":
		notes = append(notes, "at least "+f.Min)
	case f.Max != "":
		notes = append(notes, "at most "+f.Max)
	}
	if f.Zero != "" {
		zero := "0"
		if f.Type == "string" || f.Type == "[]string" {
			zero = "empty"
		}
		notes = append(notes, zero+": "+f.Zero)
	}
	if f.Required {
		notes = append(notes, "required")
	}
	if f.Secret {
		notes = append(notes, "secret: best given through the environment")
	}
	if len(notes) > 0 {
		if d != "" {
			d += "; "
		}
		d += strings.Join(notes, "; ")
	}
	return d
}

var cache sync.Map // reflect.Type -> []Field

// Of returns the spec of T, a struct: every setting and section, in the
// order of the fields.
func Of[T any]() []Field { return OfType(reflect.TypeFor[T]()) }

// OfType returns the spec of the struct type t.
func OfType(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f, ok := cache.Load(t); ok {
		return f.([]Field)
	}
	fields := walk(t, "", nil)
	cache.Store(t, fields)
	return fields
}

// Lookup returns the setting or section of T called name.
func Lookup[T any](name string) (Field, bool) {
	for _, f := range Of[T]() {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// DefaultDuration is the default of T's duration setting name, for a
// package that names it as a constant. A name T lacks, or a default that is
// no duration, is a mistake in the program and panics at start.
func DefaultDuration[T any](name string) time.Duration {
	f, ok := Lookup[T](name)
	if !ok {
		panic("spec: no setting " + name)
	}
	d, err := time.ParseDuration(f.Default)
	if err != nil {
		panic("spec: default of " + name + ": " + err.Error())
	}
	return d
}

// Settings returns the spec of T without its sections.
func Settings[T any]() []Field {
	var out []Field
	for _, f := range Of[T]() {
		if !f.Section() {
			out = append(out, f)
		}
	}
	return out
}

func walk(t reflect.Type, prefix string, index []int) []Field {
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		name, inline := key(sf)
		if name == "-" || (name == "" && !inline) {
			continue
		}
		if inline {
			out = append(out, walk(sf.Type, prefix, idx)...)
			continue
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		f := Field{Name: name, Type: typeName(sf.Type), Default: sf.Tag.Get("default"), Env: sf.Tag.Get("env"),
			Zero: sf.Tag.Get("zero"), Enum: enum(sf.Tag.Get("enum")),
			Min: sf.Tag.Get("min"), Max: sf.Tag.Get("max"), Format: sf.Tag.Get("format"), Required: sf.Tag.Get("required") == "true", Secret: sf.Tag.Get("secret") == "true",
			Description: sf.Tag.Get("doc"), index: idx}
		out = append(out, f)
		if f.Section() {
			out = append(out, walk(sf.Type, name, idx)...)
		}
	}
	return out
}

func enum(tag string) []string {
	if tag == "" {
		return nil
	}
	return strings.Split(tag, ",")
}

// key is a struct field's key, and whether its keys go inline: an embedded
// struct without a key (as encoding/json reads it) or one tagged ",inline".
func key(sf reflect.StructField) (string, bool) {
	tag, ok := sf.Tag.Lookup("yaml")
	if !ok {
		tag, ok = sf.Tag.Lookup("json")
	}
	name, opts, _ := strings.Cut(tag, ",")
	if strings.Contains(","+opts+",", ",inline,") {
		return "", true
	}
	if !ok && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
		return "", true
	}
	return name, false
}

var durationType = reflect.TypeFor[time.Duration]()

// isDuration reports whether t is time.Duration or a type of the same
// name and kind (connectors.Duration, which reads "15m" from JSON).
func isDuration(t reflect.Type) bool {
	return t == durationType || (t.Kind() == reflect.Int64 && t.Name() == "Duration")
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case isDuration(t):
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "int"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "float"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "[]string"
	case t.Kind() == reflect.Map:
		return "map"
	case t.Kind() == reflect.Struct:
		return "section"
	}
	return t.String()
}

// value is the field f of the struct v points to.
func (f Field) value(v reflect.Value) reflect.Value {
	v = v.Elem()
	for _, i := range f.index {
		v = v.Field(i)
	}
	return v
}

// OneOf says a list of values in words: "a, b or c".
func OneOf(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// Problem is a setting whose value its spec does not allow.
type Problem struct {
	Key     string
	Message string
}

func (p Problem) String() string { return p.Key + ": " + p.Message }

// Check reports, in the spec's order, every setting of the struct ptr
// points to whose value its spec does not allow: a required one left
// empty, a text outside its enum, a number or duration outside its range,
// a URL that is none.
func Check(ptr any) []Problem {
	v := reflect.ValueOf(ptr)
	var problems []Problem
	for _, f := range OfType(v.Type()) {
		if f.Section() {
			continue
		}
		if msg := f.check(f.value(v)); msg != "" {
			problems = append(problems, Problem{f.Name, msg})
		}
	}
	return problems
}

// check says what is wrong with v as f's value, or "".
func (f Field) check(v reflect.Value) string {
	if v.IsZero() || ((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0) {
		switch {
		case f.Required && f.Env != "":
			return "is required (or set " + f.Env + ")"
		case f.Required:
			return "is required"
		case f.Zero != "" || f.Min == "":
			return ""
		}
	}
	if len(f.Enum) > 0 && v.Kind() == reflect.String && !slices.Contains(f.Enum, v.String()) {
		return fmt.Sprintf("must be %s, got %q", OneOf(f.Enum), v.String())
	}
	if f.Format == "url" && v.Kind() == reflect.String {
		if u, err := url.Parse(v.String()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "must be an http(s) URL"
		}
	}
	if f.Min == "" && f.Max == "" {
		return ""
	}
	got, whole := asInt(v)
	lo, hi := bound(v, f.Min, math.MinInt64), bound(v, f.Max, math.MaxInt64)
	if !whole || (got >= lo && got <= hi) {
		return ""
	}
	shown := fmt.Sprint(v.Interface())
	if isDuration(v.Type()) {
		shown = time.Duration(got).String()
	}
	switch {
	case f.Min != "" && f.Max != "":
		return fmt.Sprintf("must be between %s and %s, got %s", f.Min, f.Max, shown)
	case f.Min != "":
		return fmt.Sprintf("must be at least %s, got %s", f.Min, shown)
	}
	return fmt.Sprintf("must be at most %s, got %s", f.Max, shown)
}

// asInt is a whole number's (or a duration's) value.
func asInt(v reflect.Value) (int64, bool) {
	switch {
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		return v.Int(), true
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint32:
		return int64(v.Uint()), true
	}
	return 0, false
}

// bound reads a min or max tag for v's type; none is def.
func bound(v reflect.Value, tag string, def int64) int64 {
	if tag == "" {
		return def
	}
	b := reflect.New(v.Type()).Elem()
	err := setValue(b, tag)
	n, whole := asInt(b)
	if err != nil || !whole {
		panic(fmt.Sprintf("spec: bound %q of a %s", tag, v.Type()))
	}
	return n
}

// SetDefaults gives every setting of the struct ptr points to its default.
// With given nil (a configuration built in code), a setting takes its
// default when it is zero or negative, unless its zero has a meaning of
// its own (a zero tag). With given (a configuration read from a file), a setting takes
// its default when its key was not given; a given number is kept even when
// zero, so that validation can refuse it, but a given empty text is
// defaulted.
func SetDefaults(ptr any, given func(key string) bool) {
	v := reflect.ValueOf(ptr)
	for _, f := range OfType(v.Type()) {
		if f.Section() || f.Default == "" {
			continue
		}
		fv := f.value(v)
		switch {
		case given == nil && f.Zero == "" && negative(fv):
			// In code, a negative count or wait is as unset as zero.
		case !fv.IsZero():
			continue
		case given != nil && given(f.Name) && fv.Kind() != reflect.String:
			continue
		case given == nil && f.Zero != "":
			continue
		}
		if err := setValue(fv, f.Default); err != nil {
			panic(fmt.Sprintf("spec: default of %s: %v", f.Name, err))
		}
	}
}

func negative(v reflect.Value) bool {
	switch {
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		return v.Int() < 0
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		return v.Float() < 0
	}
	return false
}

// Set sets the setting called name in the struct ptr points to from its
// text form, as a default or an environment variable writes it.
func Set(ptr any, name, text string) error {
	v := reflect.ValueOf(ptr)
	for _, f := range OfType(v.Type()) {
		if f.Name == name && !f.Section() {
			return setValue(f.value(v), text)
		}
	}
	return fmt.Errorf("spec: no setting %s", name)
}

// setValue parses s into v by v's type.
func setValue(v reflect.Value, s string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setValue(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch {
	case isDuration(v.Type()):
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("must be a duration such as 30s or 15m, got %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("must be true or false, got %q", s)
		}
		v.SetBool(b)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("must be a whole number, got %q", s)
		}
		v.SetInt(n)
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("must be a whole number, got %q", s)
		}
		v.SetUint(n)
	case v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("must be a number, got %q", s)
		}
		v.SetFloat(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		list := reflect.MakeSlice(v.Type(), 0, 0)
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = reflect.Append(list, reflect.ValueOf(p).Convert(v.Type().Elem()))
			}
		}
		v.Set(list)
	default:
		return fmt.Errorf("cannot be set from text (%s)", v.Type())
	}
	return nil
}
