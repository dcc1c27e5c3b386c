package canonical

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// maxFuzzJSON bounds the inputs FuzzReservationJSON decodes, as an inbound
// message size limit would.
const maxFuzzJSON = 64 << 10

func FuzzMoneyJSON(f *testing.F) {
	for _, s := range []string{
		`{"amount":"286.00","currency":"EUR"}`,
		`{"amount":"15000","currency":"JPY"}`,
		`{"amount":"45.500","currency":"KWD"}`,
		`{"amount":"-0.01","currency":"EUR"}`,
		`{"amount":"-0","currency":"JPY"}`,
		`{"amount":"+007.5","currency":"BHD"}`,
		`{"amount":"10000000000000.00","currency":"EUR"}`,
		`{"amount":"999999999999999","currency":"JPY"}`,
		`{"amount":286,"currency":"EUR"}`,
		`{"amount":"1.999","currency":"EUR"}`,
		`{"amount":"1.00","currency":"XYZ"}`,
		`{"AMOUNT":"1.00","Currency":"USD"}`,
		`{"amount":"1.00","currency":"EUR","amount":"2.00"}`,
		`null`, `{}`, `[]`, `"286.00"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Money
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		exp, ok := CurrencyExponent(m.Currency)
		if !ok {
			t.Fatalf("decoded %q into unknown currency %q", data, m.Currency)
		}
		if m.Minor > maxMinor || m.Minor < -maxMinor {
			t.Fatalf("decoded %q into %d minor units, beyond the limit", data, m.Minor)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", m, err)
		}
		// Exactly the currency's decimals, no leading zeros, no "-0".
		frac := ""
		if exp > 0 {
			frac = `\.[0-9]{` + strconv.Itoa(exp) + `}`
		}
		form := regexp.MustCompile(`^\{"amount":"-?(0|[1-9][0-9]*)` + frac + `","currency":"` + m.Currency + `"\}$`)
		if !form.Match(b) || (m.Minor == 0 && bytes.Contains(b, []byte(`"-`))) {
			t.Fatalf("json.Marshal(%#v) = %s, not the canonical form", m, b)
		}
		var again Money
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("json.Unmarshal(%s) of our own encoding: %v", b, err)
		}
		if again != m {
			t.Fatalf("round trip of %s: %#v, want %#v", b, again, m)
		}
		if p, err := ParseMoney(m.Decimal(), m.Currency); err != nil || p != m {
			t.Fatalf("ParseMoney(%q, %q) = %#v, %v; want %#v", m.Decimal(), m.Currency, p, err, m)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2027-04-10", "2028-02-29", "2027-02-29", "2027-02-30", "2100-02-28", "0000-01-01",
		"9999-12-31", "2027-4-10", "+027-04-10", "2027-04-10T00:00:00Z", "", "٢٠٢٧-٠٤-١٠",
	} {
		f.Add(s, int32(1))
		f.Add(s, int32(-366))
	}
	// Far beyond the 292 years a time.Duration holds.
	f.Add("0001-01-01", int32(3652058))
	f.Fuzz(func(t *testing.T, s string, n int32) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) = %v, which prints differently", s, d)
		}
		if DateOf(d.Time()) != d {
			t.Fatalf("ParseDate(%q) = %#v, not a normalized date", s, d)
		}
		var back Date
		if err := back.UnmarshalText([]byte(s)); err != nil || back != d {
			t.Fatalf("UnmarshalText(%q) = %v, %v", s, back, err)
		}
		if b, _ := d.MarshalText(); string(b) != s {
			t.Fatalf("MarshalText = %q, want %q", b, s)
		}

		k := int(n)
		e := d.AddDays(k)
		if got := d.DaysUntil(e); got != k {
			t.Fatalf("%v.DaysUntil(%v) = %d, want %d", d, e, got, k)
		}
		if got := e.AddDays(-k); got != d {
			t.Fatalf("%v.AddDays(%d).AddDays(%d) = %v", d, k, -k, got)
		}
		if c := d.Compare(e); c != cmpInt(0, k) {
			t.Fatalf("%v.Compare(%v) = %d for %d days apart", d, e, c, k)
		}
		if k > 1000 {
			return // listing the nights of a long run adds nothing
		}
		nights := Nights(d, e)
		if k <= 0 {
			if nights != nil {
				t.Fatalf("Nights(%v, %v) = %v, want none", d, e, nights)
			}
			return
		}
		if len(nights) != k || nights[0] != d || nights[k-1] != e.AddDays(-1) {
			t.Fatalf("Nights(%v, %v) has %d nights from %v, want %d from %v", d, e, len(nights), nights[0], k, d)
		}
		for i := 1; i < len(nights); i++ {
			if nights[i-1].DaysUntil(nights[i]) != 1 {
				t.Fatalf("Nights(%v, %v): %v is not the day after %v", d, e, nights[i], nights[i-1])
			}
		}
	})
}

func FuzzReservationJSON(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join(goldenDir, "reservation.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	valid, err := json.Marshal(validReservation())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	for _, s := range []string{
		`{}`, `null`, `[]`,
		`{"schema_version":1,"property_id":"p","channel":"c","status":"confirmed","primary_guest":{"surname":"S"},` +
			`"room_stays":[{"room_type":"DBL","rate_plan":"BAR","arrival":"2027-04-10","departure":"2027-04-11","adults":1}],` +
			`"total":{"amount":"0","currency":"JPY"}}`,
		`{"room_stays":[{"arrival":"0001-01-01","departure":"9999-12-31","nightly_prices":[{}]}]}`,
		`{"created_at":"2027-03-01T09:30:00+00:00","comments":[],"flags":[],"additional_guests":[]}`,
		`{"guarantee":{"type":"card","card_token":"4111 1111 1111 1111"}}`,
		`{"total":{"amount":286.00,"currency":"EUR"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzJSON {
			return
		}
		var r Reservation
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			var v ValidationError
			if !errors.As(err, &v) || len(v) == 0 {
				t.Fatalf("Validate returned %T %v, want a non-empty ValidationError", err, err)
			}
			return
		}
		g := r.Guarantee
		if g != nil && (ContainsCardNumber(g.CardToken) || ContainsCardNumber(g.CardMask) || ContainsCardNumber(g.HolderName)) {
			t.Fatalf("a guarantee holding a card number validated: %+v", g)
		}

		b1, err := json.Marshal(&r)
		if err != nil {
			t.Fatalf("json.Marshal of a valid reservation: %v", err)
		}
		var r2 Reservation
		if err := json.Unmarshal(b1, &r2); err != nil {
			t.Fatalf("json.Unmarshal of our own encoding: %v\n%s", err, b1)
		}
		if err := r2.Validate(); err != nil {
			t.Fatalf("re-decoded reservation no longer validates: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(&r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", b1, b2)
		}
		n1, n2 := normalized(&r), normalized(&r2)
		if !reflect.DeepEqual(n1, n2) {
			t.Fatalf("round trip changed the reservation:\n%+v\n%+v", n1, n2)
		}
	})
}

// normalized returns a deep copy of r in which empty slices are nil and times
// are in UTC: the JSON form does not tell these apart.
func normalized(r *Reservation) *Reservation {
	v := reflect.ValueOf(r).Elem()
	out := reflect.New(v.Type()).Elem()
	copyNormalized(out, v)
	return out.Addr().Interface().(*Reservation)
}

var timeType = reflect.TypeOf(time.Time{})

func copyNormalized(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		copyNormalized(dst.Elem(), src.Elem())
	case reflect.Struct:
		if src.Type() == timeType {
			dst.Set(reflect.ValueOf(src.Interface().(time.Time).UTC()))
			return
		}
		for i := 0; i < src.NumField(); i++ {
			copyNormalized(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.Len() == 0 {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := 0; i < src.Len(); i++ {
			copyNormalized(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}

func TestNormalized(t *testing.T) {
	a := validReservation()
	a.Comments, a.Flags = []string{}, nil
	b := validReservation()
	b.Comments, b.Flags = nil, []Flag{}
	b.CreatedAt = b.CreatedAt.In(time.FixedZone("", 3600))
	if !reflect.DeepEqual(normalized(a), normalized(b)) {
		t.Fatal("normalized tells apart values the JSON form does not")
	}
	b.PrimaryGuest.Address.Lines[0] = "other"
	if reflect.DeepEqual(normalized(a), normalized(b)) {
		t.Fatal("normalized hides a changed address line")
	}
	if a.PrimaryGuest.Address.Lines[0] == "other" {
		t.Fatal("normalized shares memory with its input")
	}
}

// referenceFindCardNumber is FindCardNumber written the obvious way: each
// character becomes one of a few classes (a digit's value, a space, a mark
// - . _ /, a word character or anything else), and regular expressions cut
// the classes into whole runs.
func referenceFindCardNumber(s string) (int, int, bool) {
	var class []byte
	var offset []int
	for i, r := range s {
		offset = append(offset, i)
		switch {
		case unicode.Is(unicode.Nd, r):
			class = append(class, '0'+byte(referenceDigit(r)))
		case unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Cf, r):
			class = append(class, ' ')
		case r == '-' || unicode.Is(unicode.Pd, r):
			class = append(class, '-')
		case r == '.' || r == '\uFF0E':
			class = append(class, '.')
		case r == '_' || r == '\uFF3F':
			class = append(class, '_')
		case r == '/' || r == '\uFF0F':
			class = append(class, '/')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			class = append(class, 'a')
		default:
			class = append(class, '#')
		}
	}
	offset = append(offset, len(s))
	c := string(class)
	runOf := map[byte]*regexp.Regexp{
		' ': regexp.MustCompile(`^[0-9]+(?:(?: {1,4}|-)[0-9]+)*`),
		'-': regexp.MustCompile(`^[0-9]+(?:(?: {1,4}|-)[0-9]+)*`),
		'.': regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)*`),
		'_': regexp.MustCompile(`^[0-9]+(?:_[0-9]+)*`),
		'/': regexp.MustCompile(`^[0-9]+(?:/[0-9]+)*`),
	}
	for i := 0; i < len(c); {
		if c[i] < '0' || c[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(c) && c[j] >= '0' && c[j] <= '9' {
			j++
		}
		end := j
		if re := runOf[byteAt(c, j)]; re != nil {
			end = i + len(re.FindString(c[i:]))
		}
		run := c[i:end]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, run)
		separated := len(digits) != len(run)
		glued := i > 0 && (c[i-1] == 'a' || c[i-1] <= '9' && c[i-1] >= '0') || end < len(c) && (c[end] == 'a' || c[end] >= '0' && c[end] <= '9')
		if len(digits) >= 13 && len(digits) <= 19 && referenceLuhn(digits) && !(separated && glued) {
			return offset[i], offset[end], true
		}
		i = end
	}
	return 0, 0, false
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// referenceDigit is the value of a decimal digit of any script, found by
// counting back to its zero.
func referenceDigit(r rune) int {
	n := 0
	for unicode.Is(unicode.Nd, r-1) {
		r--
		n++
	}
	return n % 10
}

// referenceLuhn checks the Luhn sum with the doubled-digit table.
func referenceLuhn(digits string) bool {
	doubled := [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}
	sum := 0
	for i := 0; i < len(digits); i++ {
		v := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			v = doubled[v]
		}
		sum += v
	}
	return sum%10 == 0
}

func TestReferenceLuhn(t *testing.T) {
	for s, want := range map[string]bool{
		"4111111111111111": true, "378282246310005": true, "79927398713": true,
		"4111111111111112": false, "79927398710": false, "1234567812345678": false,
	} {
		if got := referenceLuhn(s); got != want {
			t.Errorf("referenceLuhn(%s) = %v, want %v", s, got, want)
		}
	}
}

func FuzzContainsCardNumber(f *testing.F) {
	for _, s := range []string{
		"", "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005",
		"4111111111111111110", "41111111111111111115", "4111XXXXXXXX1111", "4111111111111112",
		"1234 4111 1111 1111 1111", "4111  1111 1111 1111", "4111 -1111-1111-1111",
		"card: 4111 1111 1111 1111, exp 12/27", "x4111111111111111x", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6",
		"4111 1111 1111 1111 ", "-4111111111111111-", "٤١١١١١١١١١١١١١١١",
		"4111.1111.1111.1111", "4111_1111/1111_1111", "４１１１　１１１１　１１１１　１１１１", "2027-04-10/2027-04-13",
		"4111\u200b1111\u200b1111\u200b1111", "4111     1111 1111 1111",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, ok := FindCardNumber(s)
		rs, re, rok := referenceFindCardNumber(s)
		if start != rs || end != re || ok != rok {
			t.Fatalf("FindCardNumber(%q) = %d, %d, %v; the reference finds %d, %d, %v", s, start, end, ok, rs, re, rok)
		}
		if ContainsCardNumber(s) != ok {
			t.Fatalf("ContainsCardNumber(%q) = %v, FindCardNumber says %v", s, !ok, ok)
		}
		if !ok {
			if start != 0 || end != 0 {
				t.Fatalf("FindCardNumber(%q) found nothing but returned %d, %d", s, start, end)
			}
			return
		}
		// The span alone is a card number, found whole.
		if s2, e2, ok2 := FindCardNumber(s[start:end]); !ok2 || s2 != 0 || e2 != end-start {
			t.Fatalf("FindCardNumber(%q) = %d, %d, %v; want the whole span", s[start:end], s2, e2, ok2)
		}
	})
}

// securityCodePattern is the regular expression FindSecurityCode scans for
// by hand, group 1 being the digits: the reference its fuzz test compares
// with.
var securityCodePattern = regexp.MustCompile(`(?i)\b(?:cvv2?|cvc2?|cv2|csc|cvn|card\s*verification(?:\s*(?:value|code|number))?|(?:card\s*)?security\s*code)` +
	`(?:\s*(?:[:=#\-]|is|no\.?|number|code)\s*|\s+)*?(\p{Nd}{3,4})(?:[^\p{Nd}]|$)`)

func FuzzFindSecurityCode(f *testing.F) {
	for _, s := range []string{
		"", "cvv 737", "CVV2: 1234", "cvv2737", "cvv2 73", "cvc2=123", "cv2#123", "CSC is 123", "cvn no. 4567",
		"card verification value 123", "Card Verification 123", "card verification code: no 123",
		"card security code 123", "security code number 1234", "SECURITY  CODE\t- 999", "ſecurity code 123",
		"cſc 123", "xcvv 123", "_cvv 123", "écvv 123", "cvv ７３７", "cvv 73", "cvv 73712", "cvv 737.5",
		"cvv is no number code 123", "cvv nonumber 123", "cvv no.123", "cvv: :: 123", "cvv\n\r\f 123",
		"cvv\v123", "cvv\u00a0123", "pay 4111 cvv x 123 then cvv 456", "cvvcvv 123", "cvv2cvv 123",
		"card cvv 123", "cardsecuritycode123", "codecvv 123", "cvv \xff 123", "cvv 12\xff3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, ok := FindSecurityCode(s)
		m := securityCodePattern.FindStringSubmatchIndex(s)
		if ok != (m != nil) || ok && (start != m[2] || end != m[3]) {
			t.Fatalf("FindSecurityCode(%q) = %d, %d, %v; the pattern matches %v", s, start, end, ok, m)
		}
		if !ok && (start != 0 || end != 0) {
			t.Fatalf("FindSecurityCode(%q) found nothing but returned %d, %d", s, start, end)
		}
	})
}

// referenceIsSecretName is IsSecretName as written before it avoided
// allocations.
func referenceIsSecretName(name string) bool {
	sep := strings.NewReplacer("_", "", "-", "")
	n := sep.Replace(strings.ToLower(name))
	for _, w := range wholeSecretNames {
		if n == w {
			return true
		}
	}
	for _, w := range secretNames {
		if strings.Contains(n, sep.Replace(w)) {
			return true
		}
	}
	return false
}

func FuzzIsSecretName(f *testing.F) {
	for _, s := range []string{"", "password", "Client_Secret", "X-Api-Key", "PAN", "pin", "p-a-n", "company",
		"ſecret", "PASSWORD\u212a", "api-key", "APİ_KEY", "Card-Number", "sеcret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsSecretName(s), referenceIsSecretName(s); got != want {
			t.Fatalf("IsSecretName(%q) = %v, the reference says %v", s, got, want)
		}
	})
}
