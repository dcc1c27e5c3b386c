package bookingapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

// The OpenAPI document is written by hand, so these tests hold it to the code:
// every route the package registers is documented with the right access, every
// $ref resolves, and the schemas name exactly the fields of the Go types.

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(openAPIDocument))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("openapi.json has data after its object")
	}
	return doc
}

func TestOpenAPIIsVersion31(t *testing.T) {
	doc := loadOpenAPI(t)
	v, _ := doc["openapi"].(string)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Fatalf("info needs a title and a version: %v", info)
	}
}

// resolvePointer follows a local JSON pointer such as "#/components/schemas/Money".
func resolvePointer(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("%q is not a reference within the document", ref)
	}
	var node any = doc
	if rest == "" {
		return node, nil
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(rest[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, fmt.Errorf("%q: no %q", ref, tok)
			}
			node = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, fmt.Errorf("%q: no index %q", ref, tok)
			}
			node = n[i]
		default:
			return nil, fmt.Errorf("%q: cannot descend into %q", ref, tok)
		}
	}
	return node, nil
}

// walk calls fn for every object in the document with its location.
func walk(node any, at string, fn func(at string, obj map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(at, n)
		for k, v := range n {
			walk(v, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, v := range n {
			walk(v, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	refs := 0
	walk(doc, "#", func(at string, obj map[string]any) {
		r, ok := obj["$ref"]
		if !ok {
			return
		}
		refs++
		s, ok := r.(string)
		if !ok {
			t.Errorf("%s: $ref is not a string", at)
			return
		}
		if _, err := resolvePointer(doc, s); err != nil {
			t.Errorf("%s: %v", at, err)
		}
	})
	if refs == 0 {
		t.Fatal("no $ref found; the walk is broken")
	}
}

// deref follows $ref until it reaches an object that is not a reference.
func deref(t *testing.T, doc map[string]any, node any) map[string]any {
	t.Helper()
	for range 20 {
		obj, ok := node.(map[string]any)
		if !ok {
			t.Fatalf("expected an object, got %T", node)
		}
		ref, ok := obj["$ref"].(string)
		if !ok {
			return obj
		}
		next, err := resolvePointer(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		node = next
	}
	t.Fatal("$ref chain too long")
	return nil
}

type route struct {
	method, path string
	access       string // "public", "any-key", "admin" or "metrics"
	at           string // file:line
}

// registeredRoutes reads the package's Go source and returns every route
// registered with a literal pattern: a.Handle("METHOD /path", access, h), or
// a handler put straight on a mux, which is public.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var routes []route
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			at := fset.Position(lit.Pos()).String()
			method, path, ok := strings.Cut(pattern, " ")
			if !ok {
				if pattern != "/" { // "/" is the catch-all that answers not_found
					t.Errorf("%s: route %q has no method, so it cannot be documented per method", at, pattern)
				}
				return true
			}
			path = strings.TrimSpace(path)
			path = strings.ReplaceAll(path, "...}", "}")
			path = strings.ReplaceAll(path, "{$}", "")
			access := "public"
			if len(call.Args) >= 3 {
				var level string
				switch a := call.Args[1].(type) {
				case *ast.Ident:
					level = a.Name
				case *ast.SelectorExpr:
					level = a.Sel.Name
				}
				switch level {
				case "Public":
				case "AnyKey":
					access = "any-key"
				case "AdminOnly":
					access = "admin"
				case "MetricsAccess":
					access = "metrics"
				default:
					t.Errorf("%s: cannot tell the access of route %q", at, pattern)
				}
			}
			routes = append(routes, route{method: method, path: path, access: access, at: at})
			return true
		})
	}
	return routes
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	routes := registeredRoutes(t)
	if !slices.ContainsFunc(routes, func(r route) bool { return r.method == "POST" && r.path == "/v1/reservations" }) {
		t.Fatalf("found %d routes but not POST /v1/reservations; the source scan is broken", len(routes))
	}

	wantSecurity := map[string]string{
		"public":  `[]`,
		"any-key": `[{"apiKey":[]},{"adminKey":[]}]`,
		"admin":   `[{"adminKey":[]}]`,
		"metrics": `[{"metricsKey":[]},{"adminKey":[]}]`,
	}
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r.method+" "+r.path] = true
		item, _ := paths[r.path].(map[string]any)
		op, ok := item[strings.ToLower(r.method)].(map[string]any)
		if !ok {
			t.Errorf("%s: %s %s is not documented in openapi.json", r.at, r.method, r.path)
			continue
		}
		if op["x-roomwire-access"] != r.access {
			t.Errorf("%s %s: x-roomwire-access is %v, but the route is registered as %s", r.method, r.path, op["x-roomwire-access"], r.access)
		}
		if op["x-roomwire-mounted-elsewhere"] != nil {
			t.Errorf("%s %s is registered by this package but marked x-roomwire-mounted-elsewhere", r.method, r.path)
		}
		sec, _ := json.Marshal(op["security"])
		if string(sec) != wantSecurity[r.access] {
			t.Errorf("%s %s: security is %s, want %s for %s access", r.method, r.path, sec, wantSecurity[r.access], r.access)
		}
	}

	// Every documented operation is served here, or says it is served by
	// another part of Roomwire; and it is well formed.
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}
	operationIDs := map[string]string{}
	for path, v := range paths {
		item := v.(map[string]any)
		for _, m := range methods {
			o, ok := item[m]
			if !ok {
				continue
			}
			op := o.(map[string]any)
			name := strings.ToUpper(m) + " " + path
			if !registered[name] && op["x-roomwire-mounted-elsewhere"] != true {
				t.Errorf("%s is documented but not registered in this package (mark it x-roomwire-mounted-elsewhere if another part serves it)", name)
			}
			access, _ := op["x-roomwire-access"].(string)
			want, ok := wantSecurity[access]
			if !ok {
				t.Errorf("%s: x-roomwire-access %q is not public, any-key, admin or metrics", name, access)
			} else if sec, _ := json.Marshal(op["security"]); string(sec) != want {
				t.Errorf("%s: security is %s, want %s", name, sec, want)
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", name)
			} else if other, dup := operationIDs[id]; dup {
				t.Errorf("%s and %s share operationId %q", name, other, id)
			}
			operationIDs[id] = name
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s has no summary", name)
			}
			checkResponses(t, doc, name, access, op)
			checkPathParams(t, doc, name, path, op)
		}
	}
}

func checkResponses(t *testing.T, doc map[string]any, name, access string, op map[string]any) {
	t.Helper()
	responses, _ := op["responses"].(map[string]any)
	success := false
	for status, r := range responses {
		code, err := strconv.Atoi(status)
		if err != nil {
			t.Errorf("%s: response %q is not a status code", name, status)
			continue
		}
		if code < 400 {
			success = success || code < 300
			continue
		}
		if access == "public" {
			continue // /readyz answers 503 with its own JSON
		}
		content, _ := deref(t, doc, r)["content"].(map[string]any)
		if content["application/problem+json"] == nil {
			t.Errorf("%s: response %d is not a problem document", name, code)
		}
	}
	if !success {
		t.Errorf("%s documents no successful response", name)
	}
	if access != "public" && responses["401"] == nil {
		t.Errorf("%s needs a key but does not document 401", name)
	}
	if access == "admin" && responses["403"] == nil {
		t.Errorf("%s is admin only but does not document 403", name)
	}
}

func checkPathParams(t *testing.T, doc map[string]any, name, path string, op map[string]any) {
	t.Helper()
	declared := map[string]bool{}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		param := deref(t, doc, p)
		if param["in"] == "path" {
			declared[param["name"].(string)] = true
			if param["required"] != true {
				t.Errorf("%s: path parameter %v must be required", name, param["name"])
			}
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		if !declared[m[1]] {
			t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
		}
		delete(declared, m[1])
	}
	for p := range declared {
		t.Errorf("%s: declares path parameter %q that the path does not have", name, p)
	}
}

// schemaProperties returns the properties of a schema, following $ref and allOf.
func schemaProperties(t *testing.T, doc map[string]any, node any) map[string]map[string]any {
	t.Helper()
	s := deref(t, doc, node)
	props := map[string]map[string]any{}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			for k, v := range schemaProperties(t, doc, sub) {
				props[k] = v
			}
		}
	}
	if p, ok := s["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v.(map[string]any)
		}
	}
	return props
}

func schemaRequired(t *testing.T, doc map[string]any, node any) map[string]bool {
	t.Helper()
	s := deref(t, doc, node)
	req := map[string]bool{}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			for k := range schemaRequired(t, doc, sub) {
				req[k] = true
			}
		}
	}
	if r, ok := s["required"].([]any); ok {
		for _, k := range r {
			req[k.(string)] = true
		}
	}
	return req
}

// jsonFields returns the JSON names of a struct's fields and whether each is omitempty.
func jsonFields(typ reflect.Type) map[string]bool {
	fields := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = slices.Contains(strings.Split(opts, ","), "omitempty")
	}
	return fields
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := func(name string) any {
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	tests := []struct {
		schema string
		typ    any
		// request: the type is decoded from requests, so read-only
		// properties of the schema are not among its fields.
		request bool
		// exactRequired: the type is only ever written, so its fields
		// without omitempty are exactly the schema's required ones.
		exactRequired bool
	}{
		{"Reservation", canonical.Reservation{}, false, true},
		{"Guest", canonical.Guest{}, false, false},
		{"Address", canonical.Address{}, false, false},
		{"Guarantee", canonical.Guarantee{}, false, false},
		{"RoomStay", canonical.RoomStay{}, false, false},
		{"NightlyPrice", canonical.NightlyPrice{}, false, true},
		{"FieldError", canonical.FieldError{}, false, true},
		{"Property", reservations.Property{}, false, false},
		{"RoomType", reservations.RoomType{}, false, false},
		{"RatePlan", reservations.RatePlan{}, false, false},
		{"InventoryUpdate", reservations.InventoryUpdate{}, false, false},
		{"Offer", reservations.Offer{}, false, true},
		{"APIKey", reservations.APIKey{}, false, true},
		{"ReservationPage", reservations.Page{}, false, true},
		{"Analytics", reservations.Analytics{}, false, true},
		{"AnalyticsFigures", reservations.AnalyticsFigures{}, false, true},
		{"AnalyticsGroup", reservations.AnalyticsGroup{}, false, true},
		{"Pickup", reservations.Pickup{}, false, true},
		{"ChannelShare", reservations.ChannelShare{}, false, true},
		{"Problem", Problem{}, false, true},
		{"PaymentOperation", reservations.PaymentOperation{}, false, true},
		{"SettlementDay", reservations.SettlementDay{}, false, true},
		{"Settlement", reservations.Settlement{}, false, true},
		{"ReservationCreate", createBody{}, true, false},
		{"ReservationPatch", modifyBody{}, true, false},
		{"RoomStay", stayBody{}, true, false},
		{"Property", propertyBody{}, true, false},
		{"RateUpdate", rateUpdateBody{}, true, false},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.typ)
		t.Run(tt.schema+"/"+typ.Name(), func(t *testing.T) {
			props := schemaProperties(t, doc, schema(tt.schema))
			if len(props) == 0 {
				t.Fatalf("schema %s has no properties", tt.schema)
			}
			fields := jsonFields(typ)
			documented := map[string]bool{}
			for name, p := range props {
				if tt.request && p["readOnly"] == true {
					continue
				}
				documented[name] = true
			}
			for name := range fields {
				if !documented[name] {
					t.Errorf("%s has field %q, which schema %s does not document", typ, name, tt.schema)
				}
			}
			for _, name := range sortedKeys(documented) {
				if _, ok := fields[name]; !ok {
					t.Errorf("schema %s documents %q, which %s does not have", tt.schema, name, typ)
				}
			}
			if !tt.exactRequired {
				return
			}
			required := schemaRequired(t, doc, schema(tt.schema))
			for name, omitempty := range fields {
				if !omitempty && !required[name] {
					t.Errorf("%s always writes %q, but schema %s does not require it", typ, name, tt.schema)
				}
				if omitempty && required[name] {
					t.Errorf("%s leaves %q out when empty, but schema %s requires it", typ, name, tt.schema)
				}
			}
		})
	}
}

func TestOpenAPIProblemCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	s := deref(t, doc, map[string]any{"$ref": "#/components/schemas/ProblemCode"})
	var documented []string
	for _, c := range s["enum"].([]any) {
		documented = append(documented, c.(string))
	}
	sort.Strings(documented)
	if want := sortedKeys(problemTitles); !slices.Equal(documented, want) {
		t.Errorf("ProblemCode lists %v, problem.go has %v", documented, want)
	}
}

// TestOpenAPILimits keeps the documented limits equal to the enforced ones.
func TestOpenAPILimits(t *testing.T) {
	doc := loadOpenAPI(t)
	numbers := map[string]int{
		"/components/schemas/RoomStay/properties/adults/maximum":                      canonical.MaxGuestsInRoom,
		"/components/schemas/RoomStay/properties/children_ages/items/maximum":         canonical.MaxChildAge,
		"/components/schemas/RoomStay/properties/children_ages/maxItems":              canonical.MaxGuestsInRoom - 1,
		"/components/schemas/Reservation/properties/room_stays/maxItems":              canonical.MaxRoomStays,
		"/components/schemas/ReservationCreate/properties/room_stays/maxItems":        canonical.MaxRoomStays,
		"/components/schemas/ReservationPatch/properties/room_stays/maxItems":         canonical.MaxRoomStays,
		"/components/schemas/Reservation/properties/additional_guests/maxItems":       canonical.MaxGuests,
		"/components/schemas/ReservationCreate/properties/additional_guests/maxItems": canonical.MaxGuests,
		"/components/schemas/Reservation/properties/comments/maxItems":                canonical.MaxComments,
		"/components/schemas/Reservation/properties/comments/items/maxLength":         canonical.MaxCommentLen,
		"/components/schemas/ReservationCreate/properties/comments/maxItems":          canonical.MaxComments,
		"/components/schemas/ReservationCreate/properties/comments/items/maxLength":   canonical.MaxCommentLen,
		"/components/schemas/Reservation/properties/external_id/maxLength":            canonical.MaxIDLen,
		"/components/schemas/ReservationCreate/properties/external_id/maxLength":      canonical.MaxIDLen,
		"/components/schemas/Guest/properties/title/maxLength":                        canonical.MaxNameLen,
		"/components/schemas/Guest/properties/given_name/maxLength":                   canonical.MaxNameLen,
		"/components/schemas/Guest/properties/surname/maxLength":                      canonical.MaxNameLen,
		"/components/schemas/Guest/properties/email/maxLength":                        canonical.MaxEmailLen,
		"/components/schemas/Guest/properties/phone/maxLength":                        canonical.MaxPhoneLen,
		"/components/schemas/Guarantee/properties/holder_name/maxLength":              canonical.MaxNameLen,
		"/components/schemas/Property/properties/name/maxLength":                      canonical.MaxNameLen,
		"/components/schemas/Property/properties/room_types/maxItems":                 reservations.MaxRoomTypes,
		"/components/schemas/Property/properties/rate_plans/maxItems":                 reservations.MaxRatePlans,
		"/components/schemas/RoomType/properties/units/maximum":                       reservations.MaxUnits,
		"/components/schemas/RoomType/properties/max_occupancy/maximum":               canonical.MaxGuestsInRoom,
		"/components/schemas/InventoryUpdate/properties/units/maximum":                reservations.MaxUnits,
		"/components/schemas/InventoryPut/properties/updates/maxItems":                reservations.MaxUpdates,
		"/components/schemas/RatesPut/properties/updates/maxItems":                    reservations.MaxUpdates,
		"/components/schemas/APIKeyCreate/properties/name/maxLength":                  canonical.MaxNameLen,
		"/components/parameters/IdempotencyKey/schema/maxLength":                      MaxIdempotencyKeyLen,
		"/components/parameters/Limit/schema/maximum":                                 500,
		"/components/parameters/Limit/schema/default":                                 50,
	}
	for ptr, want := range numbers {
		v, err := resolvePointer(doc, "#"+ptr)
		if err != nil {
			t.Error(err)
			continue
		}
		if got, ok := v.(float64); !ok || int(got) != want {
			t.Errorf("%s is %v, want %d", ptr, v, want)
		}
	}
	texts := map[string]string{
		"/components/schemas/RoomStay/description":        fmt.Sprintf("at most %d", canonical.MaxStayNights),
		"/components/schemas/InventoryUpdate/description": fmt.Sprintf("at most %d nights", reservations.MaxUpdateNights),
		"/components/schemas/RateUpdate/description":      fmt.Sprintf("at most %d nights", reservations.MaxUpdateNights),
	}
	for ptr, want := range texts {
		v, err := resolvePointer(doc, "#"+ptr)
		if err != nil {
			t.Error(err)
			continue
		}
		if s, _ := v.(string); !strings.Contains(s, want) {
			t.Errorf("%s does not say %q: %v", ptr, want, v)
		}
	}
}

func decodeStrict(t *testing.T, v any, into any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("example does not decode into %T: %v", into, err)
	}
}

// TestOpenAPIExamples checks that the examples are requests the API accepts
// and a reservation it could answer.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	example := func(ptr string) any {
		v, err := resolvePointer(doc, "#"+ptr)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	var create createBody
	decodeStrict(t, example("/paths/~1v1~1reservations/post/requestBody/content/application~1json/example"), &create)
	var problems canonical.Problems
	stays := toStays(&problems, create.RoomStays)
	if err := problems.Err(); err != nil {
		t.Errorf("the create example's dates: %v", err)
	}
	r := canonical.Reservation{
		PropertyID: create.PropertyID, Channel: create.Channel, ExternalID: create.ExternalID, Status: canonical.StatusConfirmed,
		PrimaryGuest: create.PrimaryGuest, AdditionalGuests: create.AdditionalGuests, RoomStays: stays,
		Guarantee: create.Guarantee, Comments: create.Comments, Total: canonical.NewMoney(0, "EUR"),
	}
	if err := r.Validate(); err != nil {
		t.Errorf("the create example is not a valid reservation: %v", err)
	}

	var created canonical.Reservation
	decodeStrict(t, example("/paths/~1v1~1reservations/post/responses/201/content/application~1json/example"), &created)
	if err := created.Validate(); err != nil {
		t.Errorf("the created reservation example is not valid: %v", err)
	}
	if sum, err := created.SumNightlyPrices(); err != nil || sum != created.Total {
		t.Errorf("the created reservation example's total %v is not the sum of its nightly prices %v", created.Total, sum)
	}

	var property propertyBody
	decodeStrict(t, example("/paths/~1v1~1properties~1{id}/put/requestBody/content/application~1json/example"), &property)
	if property.Name == "" || len(property.RoomTypes) == 0 || len(property.RatePlans) == 0 {
		t.Errorf("the property example should show room types and rate plans: %+v", property)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	// The store is not needed to serve the document.
	a, err := New(Config{AdminKey: "openapi-test-admin-key"}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatal("GET /v1/openapi.json does not serve the embedded document")
	}
}
