package canonical_test

import (
	"strings"
	"testing"

	"github.com/roomwire/roomwire/canonical"
)

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "client_secret": true, "X-Api-Key": true, "Stripe-Signature": true, "MessagePassword": true,
		"Set-Cookie": true, "cvv2": true, "SeriesCode": true, "card_number": true, "pan": true, "PIN": true,
		"company": false, "shipping": false, "surname": false, "partition_key": false, "Idempotency-Key": false,
	} {
		if got := canonical.IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct {
		name, in string
		gone     []string
		kept     []string
	}{
		{"json", `{"client_secret": "s3cr3t", "cvv": 123, "name": "Marta"}`, []string{"s3cr3t", "123"}, []string{"Marta", `"client_secret"`}},
		{"xml attribute", `<Card CardNumber="4111111111111111" SeriesCode="737" CardHolderName="M Silva"/>`, []string{"4111", "737"}, []string{"M Silva"}},
		{"xml element", `<Password>pw-1</Password><Surname>Silva</Surname>`, []string{"pw-1"}, []string{"Silva"}},
		{"form", `grant_type=client_credentials&client_secret=hunter2`, []string{"hunter2"}, []string{"client_credentials"}},
		{"header", `Authorization: Bearer abc.def.ghi`, []string{"abc.def.ghi"}, []string{"Authorization"}},
		{"card in text", `pay with 5500-0000-0000-0004 please`, []string{"5500"}, []string{"please"}},
		{"nothing secret", `room 101, 2 adults, company Acme`, nil, []string{"room 101, 2 adults, company Acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed := canonical.RedactText(tt.in)
			if changed != (len(tt.gone) > 0) {
				t.Errorf("changed = %v for %s", changed, out)
			}
			for _, s := range tt.gone {
				if strings.Contains(out, s) {
					t.Errorf("%q survived: %s", s, out)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(out, s) {
					t.Errorf("%q lost: %s", s, out)
				}
			}
			if len(tt.gone) > 0 && !strings.Contains(out, canonical.Redacted) {
				t.Errorf("no %s marker: %s", canonical.Redacted, out)
			}
		})
	}
}
